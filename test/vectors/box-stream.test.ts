/**
 * box-stream.json (PROTOCOL.md §3.4–§3.6): frames for several payload sizes, goodbyes, whole-stream
 * reader tests, the upstream unit fixture, nonce increments and the rejected frames.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fromHex, toHex, utf8 } from '../../src/codec/index.js'
import {
  createBoxDecryptor,
  createBoxEncryptor,
  encodeGoodbye,
  encodeMessage,
  incrementNonce,
  sha256Hex,
  type BoxStreamKeys,
} from '../../src/crypto/index.js'
import { createFrameDecoder, decodeAll } from '../../src/net/index.js'
import { EgregoreError } from '../../src/errors.js'
import {
  hasKeys,
  hex,
  ints,
  loadVectors,
  str,
  type Fields,
  type VectorEntry,
  checkEveryEntry,
} from '../helpers/vectors.js'

const entries = loadVectors(new URL('./box-stream.json', import.meta.url))

/** payload_N: N bytes of "ABC…Z" repeating. */
function payloadN(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => 65 + (i % 26))
}

function keysOf(input: Fields, nonceKey: string): BoxStreamKeys {
  return { key: hex(input, 'key_hex'), nonce: hex(input, nonceKey) }
}

/** Check the optional per-frame fields of a `frames[]` item against our own encryption. */
function checkFrame(f: Fields, keys: BoxStreamKeys, nonces: string[], i: number): void {
  assert.equal(toHex(fromHex(nonces[2 * i]!)!), str(f, 'header_nonce_hex'))
  assert.equal(nonces[2 * i + 1], str(f, 'body_nonce_hex'))
  const wire = hex(f, 'wire_hex')
  assert.equal(wire.length, 4 + (f['frame_length'] as number))
  const headerCt = wire.subarray(4, 38)
  assert.equal(toHex(headerCt), str(f, 'header_ciphertext_hex'))
  const dec = createBoxDecryptor({ key: keys.key, nonce: hex(f, 'header_nonce_hex') })
  const header = dec.openHeader(Uint8Array.from(headerCt))
  assert.ok(header !== null)
  const pt = new Uint8Array(18)
  pt.set([header.bodyLength >> 8, header.bodyLength & 0xff], 0)
  pt.set(header.bodyTag, 2)
  assert.equal(toHex(pt), str(f, 'header_plaintext_hex'))
  const body = Uint8Array.from(wire.subarray(38))
  if ('body_tag_hex' in f) assert.equal(toHex(header.bodyTag), str(f, 'body_tag_hex'))
  if ('body_ciphertext_with_tag_hex' in f) {
    const withTag = toHex(body) + toHex(header.bodyTag)
    assert.equal(withTag, str(f, 'body_ciphertext_with_tag_hex'))
  }
  dec.openBodyInPlace(body, header.bodyTag)
  assert.equal(toHex(body), str(f, 'body_plaintext_hex'))
}

function sendTests(e: VectorEntry): void {
  test('frames, nonces and wire bytes of the message; the reader gets the payload back', () => {
    const keys = keysOf(e.input, 'nonce_before_hex')
    const nonces: string[] = []
    const enc = createBoxEncryptor(keys, { onNonce: (n) => nonces.push(toHex(n)) })
    const payload = hex(e.input, 'payload_hex')
    const wire = encodeMessage(enc, payload)
    const frames = e.expected['frames'] as Fields[]
    assert.equal(toHex(wire), frames.map((f) => str(f, 'wire_hex')).join(''))
    frames.forEach((f, i) => checkFrame(f, keys, nonces, i))
    if ('nonce_after_hex' in e.expected) {
      assert.equal(toHex(enc.nextNonce()), str(e.expected, 'nonce_after_hex'))
    }
    assert.deepEqual(decodeAll(keys, wire).messages.map(toHex), [toHex(payload)])
  })
}

function goodbyeTests(e: VectorEntry): void {
  test('goodbye: 18 zero bytes sealed as a header, u32be(34) prefix', () => {
    const keys = keysOf(e.input, 'nonce_before_hex')
    const x = e.expected
    assert.equal(str(x, 'nonce_hex'), str(e.input, 'nonce_before_hex'))
    assert.equal(str(x, 'plaintext_hex'), '00'.repeat(18))
    assert.equal(toHex(createBoxEncryptor(keys).sealGoodbye()), str(x, 'ciphertext_hex'))
    const enc = createBoxEncryptor(keys)
    assert.equal(toHex(encodeGoodbye(enc)), str(x, 'wire_hex'))
    assert.equal(toHex(enc.nextNonce()), str(x, 'nonce_after_hex'))
    assert.equal(createBoxDecryptor(keys).openHeader(hex(x, 'ciphertext_hex')), null)
  })
}

function readerTests(e: VectorEntry): void {
  const keys = keysOf(e.input, 'initial_nonce_hex')
  const expected = (e.expected['messages_hex'] as string[]).slice()
  test('reads every message, then the goodbye', () => {
    assert.equal(str(e.expected, 'then'), 'goodbye')
    const r = decodeAll(keys, hex(e.input, 'wire_hex'))
    assert.deepEqual(r.messages.map(toHex), expected)
    assert.equal(r.goodbye, true)
  })
  test('the same, fed one byte at a time', () => {
    const wire = hex(e.input, 'wire_hex')
    const decoder = createFrameDecoder(keys)
    const got: string[] = []
    let end: string = 'more'
    for (let i = 0; i < wire.length; i++) {
      decoder.push(wire.slice(i, i + 1))
      end = decoder.decode((m) => got.push(toHex(m)))
    }
    assert.deepEqual(got, expected)
    assert.equal(end, 'goodbye')
  })
}

function sizeTests(e: VectorEntry): void {
  test('frame count, lengths, flags, wire hash and nonce after', () => {
    const n = Number(/^payload_(\d+)$/.exec(str(e.input, 'payload'))?.[1])
    const keys = keysOf(e.input, 'nonce_before_hex')
    const enc = createBoxEncryptor(keys)
    const wire = encodeMessage(enc, payloadN(n))
    assert.equal(sha256Hex(wire), str(e.expected, 'wire_sha256_hex'))
    assert.equal(toHex(enc.nextNonce()), str(e.expected, 'nonce_after_hex'))
    const lengths: number[] = []
    const flags: number[] = []
    const dec = createBoxDecryptor(keys)
    for (let at = 0; at < wire.length;) {
      const len = new DataView(wire.buffer, wire.byteOffset + at).getUint32(0)
      lengths.push(len)
      const frame = wire.slice(at + 4, at + 4 + len)
      const h = dec.openHeader(frame.subarray(0, 34))!
      const body = frame.subarray(34)
      dec.openBodyInPlace(body, h.bodyTag)
      flags.push(body[0]!)
      at += 4 + len
    }
    assert.equal(lengths.length, e.expected['frame_count'])
    assert.deepEqual(lengths, ints(e.expected, 'frame_lengths'))
    assert.deepEqual(flags, ints(e.expected, 'flags'))
    assert.deepEqual(decodeAll(keys, wire).messages.map(toHex), [toHex(payloadN(n))])
  })
}

function fixtureTests(e: VectorEntry): void {
  test('raw body frame and the goodbye after it (upstream unit fixture)', () => {
    const keys = keysOf(e.input, 'nonce_hex')
    const nonces: string[] = []
    const enc = createBoxEncryptor(keys, { onNonce: (n) => nonces.push(toHex(n)) })
    const body = utf8(str(e.input, 'body_utf8'))
    const frame = enc.sealFrame(body)
    assert.equal(toHex(frame), str(e.expected, 'frame_hex'))
    assert.deepEqual(nonces, [
      str(e.expected, 'header_nonce_hex'),
      str(e.expected, 'body_nonce_hex'),
    ])
    assert.equal(toHex(enc.sealGoodbye()), str(e.expected, 'following_goodbye_ciphertext_hex'))
    const dec = createBoxDecryptor(keys)
    const h = dec.openHeader(frame.slice(0, 34))!
    const b = frame.slice(34)
    dec.openBodyInPlace(b, h.bodyTag)
    assert.equal(toHex(b), toHex(body))
    assert.equal(dec.openHeader(hex(e.expected, 'following_goodbye_ciphertext_hex')), null)
  })
}

function nonceTests(e: VectorEntry): void {
  test('big-endian increment', () => {
    const n = hex(e.input, 'nonce_hex')
    incrementNonce(n)
    assert.equal(toHex(n), str(e.expected, 'next_nonce_hex'))
  })
}

function rejectTests(e: VectorEntry): void {
  test(`rejected: ${str(e.expected, 'error')}`, () => {
    const keys = keysOf(e.input, 'nonce_hex')
    assert.throws(
      () => decodeAll(keys, hex(e.input, 'wire_hex')),
      (err: unknown) => {
        assert.ok(err instanceof EgregoreError, String(err))
        assert.ok(err.code === 'DECODE_ERROR' || err.code === 'FRAME_TOO_LARGE', err.code)
        assert.ok(err.message.startsWith(str(e.expected, 'error')), err.message)
        return true
      },
    )
  })
}

/** Choose the checks of an entry from the keys of its input and expected objects. */
function dispatch(e: VectorEntry): ((e: VectorEntry) => void) | null {
  const { input, expected } = e
  if (hasKeys(input, ['key_hex', 'nonce_before_hex', 'payload_hex'])) return sendTests
  if (hasKeys(input, ['key_hex', 'nonce_before_hex'])) return goodbyeTests
  if (hasKeys(input, ['key_hex', 'initial_nonce_hex', 'wire_hex'])) return readerTests
  if (hasKeys(input, ['key_hex', 'nonce_before_hex', 'payload'])) return sizeTests
  if (hasKeys(input, ['key_hex', 'nonce_hex', 'body_utf8'])) return fixtureTests
  if (hasKeys(input, ['nonce_hex'])) return nonceTests
  if (hasKeys(input, ['key_hex', 'nonce_hex', 'wire_hex']) && 'error' in expected)
    return rejectTests
  return null
}

checkEveryEntry('box-stream.json', entries, dispatch, describe, test)

test('box-stream.json has the 22 entries its README lists', () => {
  assert.equal(entries.length, 22)
})
