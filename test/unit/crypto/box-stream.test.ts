/**
 * Box stream, fragmentation and codec edge cases (PROTOCOL.md §3.4, §3.5): writer limits, the
 * receiver checks of §3.5.2 one by one, reassembly limits and the length-prefix checks.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import sodium from 'sodium-native'
import { EgregoreError, type ErrorCode } from '../../../src/errors.js'
import { MAX_MESSAGE_BYTES, toHex } from '../../../src/codec/index.js'
import {
  checkFrameLength,
  checkFrameSize,
  createBoxDecryptor,
  createBoxEncryptor,
  createMessageAssembler,
  encodeMessage,
  incrementNonce,
  messageFrameCount,
  messageWireLength,
  type BoxStreamKeys,
} from '../../../src/crypto/index.js'
import { decodeAll } from '../../../src/net/index.js'

const keys: BoxStreamKeys = { key: new Uint8Array(32).fill(9), nonce: new Uint8Array(24).fill(1) }

function fails(code: ErrorCode, text: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof EgregoreError, String(err))
    assert.equal(err.code, code)
    assert.ok(err.message.startsWith(text), err.message)
    return true
  }
}

/** u32be(len) ‖ header(L, tag) ‖ body, built by hand (to make frames a writer never would). */
function handFrame(k: BoxStreamKeys, headerLength: number, body: Uint8Array): Uint8Array {
  const nonce = Uint8Array.from(k.nonce)
  const headerNonce = Uint8Array.from(nonce)
  incrementNonce(nonce)
  const ct = Uint8Array.from(body)
  const tag = new Uint8Array(16)
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt_detached(ct, tag, ct, null, null, nonce, k.key)
  const pt = Uint8Array.from([headerLength >> 8, headerLength & 0xff, ...tag])
  const header = new Uint8Array(34)
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(header, pt, null, null, headerNonce, k.key)
  const len = 34 + ct.length
  return Uint8Array.from([
    len >>> 24,
    (len >> 16) & 255,
    (len >> 8) & 255,
    len & 255,
    ...header,
    ...ct,
  ])
}

describe('box stream writer', () => {
  test('refuses bodies outside 1..4096 before using a nonce', () => {
    const enc = createBoxEncryptor(keys)
    const before = toHex(enc.nextNonce())
    assert.throws(() => enc.sealFrame(new Uint8Array(0)), RangeError)
    assert.throws(() => enc.sealFrame(new Uint8Array(4097)), RangeError)
    assert.equal(toHex(enc.nextNonce()), before)
    assert.equal(enc.sealFrame(new Uint8Array(4096)).length, 34 + 4096)
  })

  test('messages up to 131072 bytes; larger ones are FRAME_TOO_LARGE and send nothing', () => {
    const enc = createBoxEncryptor(keys)
    assert.equal(
      decodeAll(keys, encodeMessage(enc, new Uint8Array(MAX_MESSAGE_BYTES))).messages[0]?.length,
      MAX_MESSAGE_BYTES,
    )
    const before = toHex(enc.nextNonce())
    assert.throws(
      () => encodeMessage(enc, new Uint8Array(MAX_MESSAGE_BYTES + 1)),
      fails('FRAME_TOO_LARGE', 'message too large'),
    )
    assert.equal(toHex(enc.nextNonce()), before)
  })

  test('frame counts and wire lengths at the chunk boundaries', () => {
    for (const [n, frames] of [
      [0, 1],
      [1, 1],
      [4095, 1],
      [4096, 2],
      [8190, 2],
      [8191, 3],
      [131072, 33],
    ] as const) {
      assert.equal(messageFrameCount(n), frames, `payload ${n}`)
      assert.equal(
        encodeMessage(createBoxEncryptor(keys), new Uint8Array(n)).length,
        messageWireLength(n),
      )
    }
  })

  test('the key and nonce are copied: later changes to the inputs do not matter', () => {
    const k = { key: Uint8Array.from(keys.key), nonce: Uint8Array.from(keys.nonce) }
    const enc = createBoxEncryptor(k)
    k.key.fill(0)
    k.nonce.fill(0)
    assert.deepEqual(decodeAll(keys, encodeMessage(enc, Uint8Array.of(5))).messages, [
      Uint8Array.of(5),
    ])
  })
})

describe('box stream reader checks (§3.5.2)', () => {
  test('length prefix: 0 is zero-length, above 65536 is too large, 65536 is allowed', () => {
    assert.throws(() => checkFrameLength(0), fails('DECODE_ERROR', 'zero-length frame'))
    assert.throws(() => checkFrameLength(65537), fails('FRAME_TOO_LARGE', 'frame too large'))
    assert.throws(() => checkFrameLength(0xffffffff), fails('FRAME_TOO_LARGE', 'frame too large'))
    checkFrameLength(65536)
    assert.throws(() => checkFrameSize(33), fails('DECODE_ERROR', 'frame too small'))
    checkFrameSize(34)
  })

  test('a header announcing a body length different from the frame is a mismatch', () => {
    const frame = handFrame(keys, 3, Uint8Array.of(0, 1))
    assert.throws(() => decodeAll(keys, frame), fails('DECODE_ERROR', 'body length mismatch'))
  })

  test('an authenticated empty body is an empty frame payload', () => {
    const frame = handFrame(keys, 0, new Uint8Array(0))
    assert.throws(() => decodeAll(keys, frame), fails('DECODE_ERROR', 'empty frame payload'))
  })

  test('bodies above 4096 are accepted by the reader (as upstream does)', () => {
    const body = new Uint8Array(6000).fill(0x41)
    body[0] = 0
    assert.equal(decodeAll(keys, handFrame(keys, 6000, body)).messages[0]?.length, 5999)
  })

  test('a goodbye decrypts to null without consuming a body nonce', () => {
    const enc = createBoxEncryptor(keys)
    const dec = createBoxDecryptor(keys)
    assert.equal(dec.openHeader(enc.sealGoodbye()), null)
    assert.equal(toHex(dec.nextNonce()), toHex(enc.nextNonce()))
  })
})

describe('reassembly (§3.5.3)', () => {
  test('flags other than 0x00 and 0x01 are an invalid continuation prefix', () => {
    for (const flag of [2, 0x80, 0xff]) {
      assert.throws(
        () => createMessageAssembler().push(Uint8Array.of(flag, 1)),
        fails('DECODE_ERROR', 'invalid continuation prefix'),
      )
    }
    assert.throws(
      () => createMessageAssembler().push(new Uint8Array(0)),
      fails('DECODE_ERROR', 'invalid continuation prefix'),
    )
  })

  test('a message may reach the cap exactly; one byte more is too large', () => {
    const a = createMessageAssembler(10)
    assert.equal(a.push(Uint8Array.of(1, 1, 2, 3, 4, 5)), null)
    assert.equal(a.pendingBytes, 5)
    assert.deepEqual(
      a.push(Uint8Array.of(0, 6, 7, 8, 9, 10)),
      Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
    )
    assert.equal(a.pendingBytes, 0)
    const b = createMessageAssembler(10)
    b.push(Uint8Array.of(1, 1, 2, 3, 4, 5))
    assert.throws(
      () => b.push(Uint8Array.of(1, 6, 7, 8, 9, 10, 11)),
      fails('FRAME_TOO_LARGE', 'assembled message too large'),
    )
  })

  test('a stream of continuation frames beyond 131072 bytes is refused while it arrives', () => {
    const a = createMessageAssembler()
    const chunk = new Uint8Array(4096)
    chunk[0] = 1
    let pushed = 0
    assert.throws(
      () => {
        for (;;) {
          a.push(chunk)
          pushed += 4095
        }
      },
      fails('FRAME_TOO_LARGE', 'assembled message too large'),
    )
    assert.ok(pushed <= MAX_MESSAGE_BYTES)
  })

  test('adjacent chunks are compacted in place: the message is a view of their buffer', () => {
    // [flag 1, a b c][consumed: x x x][flag 0, d e]
    const buf = Uint8Array.of(1, 10, 11, 12, 99, 99, 99, 0, 13, 14, 77)
    const a = createMessageAssembler()
    assert.equal(a.push(buf.subarray(0, 4)), null)
    const m = a.push(buf.subarray(7, 10), true)
    assert.deepEqual(m, Uint8Array.of(10, 11, 12, 13, 14))
    assert.equal(m?.buffer, buf.buffer)
    assert.equal(m?.byteOffset, 1)
    assert.equal(buf[10], 77) // nothing past the last chunk is touched
    assert.equal(a.pendingBytes, 0)
  })

  test('without the adjacency promise, or across buffers, chunks are copied', () => {
    const buf = Uint8Array.of(1, 10, 11, 99, 0, 12)
    const m1 = createMessageAssembler()
    m1.push(buf.subarray(0, 3))
    const r1 = m1.push(buf.subarray(4, 6))
    assert.deepEqual(r1, Uint8Array.of(10, 11, 12))
    assert.notEqual(r1?.buffer, buf.buffer)
    assert.deepEqual([...buf], [1, 10, 11, 99, 0, 12]) // the input is left alone
    const m2 = createMessageAssembler()
    m2.push(buf.subarray(0, 3))
    const r2 = m2.push(Uint8Array.of(0, 12), true) // another buffer: the promise cannot hold
    assert.deepEqual(r2, Uint8Array.of(10, 11, 12))
    assert.notEqual(r2?.buffer, buf.buffer)
  })

  test('a run assembled in place continues as a copy once a chunk is not adjacent', () => {
    const buf = Uint8Array.of(1, 10, 11, 99, 1, 12, 0)
    const a = createMessageAssembler()
    a.push(buf.subarray(0, 3))
    assert.equal(a.push(buf.subarray(4, 6), true), null)
    assert.deepEqual(a.push(Uint8Array.of(0, 13, 14), true), Uint8Array.of(10, 11, 12, 13, 14))
    assert.equal(a.pendingBytes, 0)
  })
})
