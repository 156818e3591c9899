/**
 * Properties of the box stream and its codecs (PROTOCOL.md §3.4, §3.5): any chunking gives the
 * same messages; any flipped bit or truncation fails cleanly with a typed error; nonces never
 * repeat; encode∘decode is the identity for every binary codec. Seed: FC_SEED (default 42).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { EgregoreError } from '../../src/errors.js'
import { toHex } from '../../src/codec/index.js'
import {
  authMessage,
  boxHeader,
  createBoxEncryptor,
  decode,
  encode,
  encodeGoodbye,
  encodeMessage,
  fixed,
  hello,
  uint16be,
  uint32be,
  type BoxStreamKeys,
  type Codec,
} from '../../src/crypto/index.js'
import { createFrameDecoder, decodeAll } from '../../src/net/index.js'
import { assertProperty } from '../helpers/json-arbitraries.js'

const keysArb: fc.Arbitrary<BoxStreamKeys> = fc.record({
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  nonce: fc.uint8Array({ minLength: 24, maxLength: 24 }),
})
/** Messages around the interesting sizes: empty, small, one chunk, just over, several chunks. */
const messageArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 4090, maxLength: 4100 }),
  fc.uint8Array({ maxLength: 9000 }),
)
const messagesArb = fc.array(messageArb, { minLength: 1, maxLength: 5 })

/** Wire bytes of `messages` followed by a goodbye. */
function streamOf(keys: BoxStreamKeys, messages: Uint8Array[]): Uint8Array {
  const enc = createBoxEncryptor(keys)
  const parts = [...messages.map((m) => encodeMessage(enc, m)), encodeGoodbye(enc)]
  return Uint8Array.from(parts.flatMap((p) => [...p]))
}

const FATAL = new Set(['DECODE_ERROR', 'FRAME_TOO_LARGE', 'IO_ERROR'])
function isCleanFailure(err: unknown): boolean {
  return err instanceof EgregoreError && FATAL.has(err.code)
}

describe('box stream reader', () => {
  test('any chunking of the input yields the same messages, then the goodbye', () => {
    const cutsArb = fc.array(fc.integer({ min: 0, max: 40000 }), { maxLength: 12 })
    assertProperty(
      fc.property(keysArb, messagesArb, cutsArb, (keys, messages, cuts) => {
        const wire = streamOf(keys, messages)
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b)
        const decoder = createFrameDecoder(keys)
        const got: string[] = []
        let end = 'more'
        let from = 0
        for (const to of [...points, wire.length]) {
          decoder.push(wire.slice(from, to))
          end = decoder.decode((m) => got.push(toHex(m)))
          from = to
        }
        assert.deepEqual(got, messages.map(toHex))
        assert.equal(end, 'goodbye')
      }),
      60,
    )
  })

  test('flipping any bit of any frame makes the reader fail with a typed error', () => {
    assertProperty(
      fc.property(keysArb, messagesArb, fc.nat(), fc.nat(7), (keys, messages, at, bit) => {
        const wire = streamOf(keys, messages)
        const i = at % wire.length
        wire[i]! ^= 1 << bit
        assert.throws(() => decodeAll(keys, wire), isCleanFailure)
      }),
      200,
    )
  })

  test('truncation at every byte offset fails cleanly or stops at a frame boundary', () => {
    const keys = { key: new Uint8Array(32).fill(5), nonce: new Uint8Array(24).fill(0xff) }
    const messages = [new Uint8Array([1]), new Uint8Array(0), new Uint8Array(5000).fill(7)]
    const wire = streamOf(keys, messages)
    let clean = 0
    let failed = 0
    for (let k = 0; k < wire.length; k++) {
      try {
        const r = decodeAll(keys, wire.slice(0, k))
        assert.equal(r.goodbye, false, `offset ${k}`)
        assert.deepEqual(r.messages.map(toHex), messages.slice(0, r.messages.length).map(toHex))
        clean++
      } catch (err) {
        assert.ok(isCleanFailure(err), `offset ${k}: ${String(err)}`)
        failed++
      }
    }
    assert.equal(clean + failed, wire.length)
    assert.ok(failed > clean) // most offsets fall inside a frame
  })

  test('arbitrary bytes only ever give messages, a goodbye or a typed error', () => {
    assertProperty(
      fc.property(keysArb, fc.uint8Array({ maxLength: 300 }), (keys, bytes) => {
        try {
          decodeAll(keys, bytes)
        } catch (err) {
          assert.ok(isCleanFailure(err), String(err))
        }
      }),
      300,
    )
  })

  test('nonces never repeat within a direction, whatever is sent', () => {
    assertProperty(
      fc.property(keysArb, messagesArb, (keys, messages) => {
        const seen = new Set<string>()
        let uses = 0
        const enc = createBoxEncryptor(keys, {
          onNonce: (n) => {
            uses++
            seen.add(toHex(n))
          },
        })
        for (const m of messages) encodeMessage(enc, m)
        encodeGoodbye(enc)
        assert.equal(seen.size, uses)
      }),
      60,
    )
  })
})

function roundTrip<T>(name: string, codec: Codec<T>, arb: fc.Arbitrary<T>, size: number): void {
  test(`${name}: encode∘decode is the identity; short input is a DECODE_ERROR`, () => {
    assertProperty(
      fc.property(arb, (v) => {
        const bytes = encode(codec, v)
        assert.deepEqual(decode(codec, bytes), v)
        if (size > 0) {
          assert.throws(
            () => decode(codec, bytes.subarray(0, bytes.length - 1)),
            (e: unknown) => e instanceof EgregoreError && e.code === 'DECODE_ERROR',
          )
        }
        assert.throws(() => decode(codec, Uint8Array.from([...bytes, 0])), /trailing/)
      }),
      200,
    )
  })
}

describe('binary codecs', () => {
  const bytes = (n: number): fc.Arbitrary<Uint8Array> =>
    fc.uint8Array({ minLength: n, maxLength: n })
  roundTrip('uint16be', uint16be, fc.integer({ min: 0, max: 0xffff }), 2)
  roundTrip('uint32be', uint32be, fc.nat({ max: 0xffffffff }), 4)
  roundTrip('fixed(16)', fixed(16), bytes(16), 16)
  roundTrip(
    'boxHeader',
    boxHeader,
    fc
      .record({ bodyLength: fc.integer({ min: 0, max: 0xffff }), bodyTag: bytes(16) })
      .map((r) => ({ ...r })),
    18,
  )
  const helloArb = fc.record({ ephemeralPublic: bytes(32), hmac: bytes(32) }).map((r) => ({ ...r }))
  roundTrip('hello', hello, helloArb, 64)
  roundTrip('authMessage', authMessage, fc.uint8Array({ maxLength: 200 }), 4)
})
