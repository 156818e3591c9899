/**
 * Properties of signed messages (PROTOCOL.md §1.2, §1.6, §1.9, §1.10): signing then parsing the
 * wire text round-trips; no single-byte change of the wire text yields a different accepted
 * message; hashing is deterministic. Seed: FC_SEED (default 42).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  fromHex,
  parseJson,
  parseJsonBytes,
  parseTimestamp,
  utf8,
  type JsonObject,
  type Timestamp,
} from '../../src/codec/index.js'
import { identityFromSeed, sha256Hex } from '../../src/crypto/index.js'
import { EgregoreError } from '../../src/errors.js'
import {
  canonicalize,
  parseMessage,
  parseUnsignedMessage,
  toWireText,
  type Message,
  type UnsignedMessage,
} from '../../src/feed/message.js'
import { signMessage, verifyMessage, type SignedMessage } from '../../src/feed/sign.js'
import { assertProperty, jsonObject, jsonString, jsonValue } from '../helpers/json-arbitraries.js'

const RUNS = 200

/** Identity A of the vectors (seed 00 01 … 1f). */
const identity = identityFromSeed(
  fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')!,
)

/** A canonical timestamp between years 0000 and 9999 with 0, 3, 6 or 9 significant fraction digits. */
const timestamp: fc.Arbitrary<Timestamp> = fc
  .tuple(
    fc.integer({ min: -62167219200000, max: 253402300799999 }),
    fc.integer({ min: 0, max: 999999 }),
    fc.constantFrom(0, 3, 6, 9),
  )
  .map(([ms, subMillis, digits]) => {
    const iso = new Date(ms).toISOString() // years 0000–9999: always the 4-digit form
    const nanos = `${iso.slice(20, 23)}${String(subMillis).padStart(6, '0')}`.slice(0, digits)
    return parseTimestamp(`${iso.slice(0, 19)}${digits > 0 ? '.' + nanos : ''}Z`)
  })

const hash64 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('hex'))

/** Content: an object with a string `type` and random JSON members. */
const content: fc.Arbitrary<JsonObject> = fc
  .tuple(jsonObject, jsonString)
  .map(([members, type]) => Object.assign(Object.create(null) as JsonObject, members, { type }))

const unsignedMessage: fc.Arbitrary<UnsignedMessage> = fc
  .record({
    sequence: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    previous: fc.option(hash64, { nil: null }),
    timestamp,
    content: fc.oneof({ weight: 4, arbitrary: content }, { weight: 1, arbitrary: jsonValue }),
    schemaId: fc.option(jsonString, { nil: undefined }),
    relates: fc.option(hash64, { nil: undefined }),
    tags: fc.option(fc.array(jsonString, { minLength: 1, maxLength: 4 }), { nil: undefined }),
    traceId: fc.option(jsonString, { nil: undefined }),
    spanId: fc.option(jsonString, { nil: undefined }),
    expiresAt: fc.option(timestamp, { nil: undefined }),
  })
  .map((r) => {
    const m: { -readonly [K in keyof UnsignedMessage]: UnsignedMessage[K] } = {
      author: identity.id,
      sequence: r.sequence,
      previous: r.previous,
      timestamp: r.timestamp,
      content: r.content,
    }
    if (r.schemaId !== undefined) m.schemaId = r.schemaId
    if (r.relates !== undefined) m.relates = r.relates
    if (r.tags !== undefined) m.tags = r.tags
    if (r.traceId !== undefined) m.traceId = r.traceId
    if (r.spanId !== undefined) m.spanId = r.spanId
    if (r.expiresAt !== undefined) m.expiresAt = r.expiresAt
    return m
  })

/**
 * Parse altered wire bytes as a receiver would and decide. Returns 'rejected' when parsing throws
 * DECODE_ERROR or verification fails, 'same' when the bytes are accepted as the very same message;
 * fails the test if any other error is thrown or a different message is accepted.
 */
function receive(bytes: Uint8Array, original: SignedMessage): 'rejected' | 'same' {
  let m: Message
  try {
    m = parseMessage(parseJsonBytes(bytes))
  } catch (err) {
    assert.ok(err instanceof EgregoreError, `non-Egregore error: ${String(err)}`)
    assert.equal(err.code, 'DECODE_ERROR')
    return 'rejected'
  }
  if (!verifyMessage(m)) return 'rejected'
  // Accepted: it must be the original message, only spelled differently.
  assert.equal(canonicalize(m).text, original.canonicalText, new TextDecoder().decode(bytes))
  assert.equal(m.hash, original.message.hash)
  assert.equal(m.signature, original.message.signature)
  return 'same'
}

describe('signed messages round-trip', () => {
  test('a signed message verifies and its wire text parses back to the same text and hash', () => {
    assertProperty(
      fc.property(unsignedMessage, (unsigned) => {
        const signed = signMessage(unsigned, identity)
        assert.equal(verifyMessage(signed.message), true)
        const back = parseMessage(parseJson(signed.wireText))
        const text = canonicalize(back).text
        assert.equal(text, signed.canonicalText)
        assert.equal(back.hash, sha256Hex(text))
        assert.equal(back.hash, signed.message.hash)
        assert.equal(toWireText(text, back.hash, back.signature), signed.wireText)
        assert.equal(verifyMessage(back), true)
      }),
      RUNS,
    )
  })
})

describe('tampering', () => {
  test('flipping any single byte of the wire text never yields a different accepted message', () => {
    assertProperty(
      fc.property(
        unsignedMessage,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (unsigned, at, delta) => {
          const signed = signMessage(unsigned, identity)
          const bytes = Uint8Array.from(utf8(signed.wireText))
          const i = at % bytes.length
          bytes[i] = (bytes[i]! + delta) & 0xff // delta ≠ 0 mod 256: always a different byte
          receive(bytes, signed)
        },
      ),
      500,
    )
  })

  test('exhaustive sweep over one message: every position, several replacement bytes', () => {
    const wire = parseJson(
      '{"author":"@A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=.ed25519","sequence":3,' +
        '"previous":"52a7c15d6ba8777e17e444198e683ae4e8758796cebe4421f6607a3ce853d545",' +
        '"timestamp":"2026-02-19T20:13:00.500Z","content":{"a":[1,-0.0,1.5e+20,1e-7,"x\\n"],' +
        '"b":{"c":null,"d":true},"e":18446744073709551615,"type":"insight"},"schema_id":"insight/v1",' +
        '"relates":"bf226d8c5a3e224ce51c5091b19eeb24d0673b7b565412b622e7164871195dd2",' +
        '"tags":["rust","llm"],"trace_id":"t","span_id":"s","expires_at":"2026-03-21T00:00:00Z"}',
    )
    const signed = signMessage(parseUnsignedMessage(wire), identity)
    const original = utf8(signed.wireText)
    const replacements = [
      0x00, 0x20, 0x22, 0x2c, 0x30, 0x31, 0x41, 0x5c, 0x65, 0x7a, 0x7f, 0xc3, 0xff,
    ]
    const accepted: string[] = []
    for (let i = 0; i < original.length; i++) {
      const candidates = new Set([original[i]! ^ 0x01, original[i]! ^ 0x20, ...replacements])
      for (const b of candidates) {
        if (b === original[i]) continue
        const bytes = Uint8Array.from(original)
        bytes[i] = b
        if (receive(bytes, signed) === 'same')
          accepted.push(`${i}:${String.fromCharCode(original[i]!)}→${String.fromCharCode(b)}`)
      }
    }
    // receive() has already checked that each accepted change leaves the message identical. They
    // are the spellings canonicalisation normalises away: the timestamp separator (T → space) and
    // zone (Z → z), and float spellings ("-0.0" → "-0e0", "e" → "E", "e+20" → "e020").
    assert.ok(accepted.length > 0)
    for (const a of accepted) assert.match(a, /:(T→ |Z→z|\.→e|e→E|\+→0)$/, a)
  })

  test('changing the hash or signature field is rejected', () => {
    const signed = signMessage(
      {
        author: identity.id,
        sequence: 1,
        previous: null,
        timestamp: parseTimestamp('2026-02-19T20:11:44Z'),
        content: 'x',
      },
      identity,
    )
    const other = signMessage({ ...signed.message, sequence: 2 }, identity)
    assert.equal(verifyMessage({ ...signed.message, hash: other.message.hash }), false)
    assert.equal(verifyMessage({ ...signed.message, signature: other.message.signature }), false)
    assert.equal(verifyMessage({ ...other.message, hash: other.message.hash.toUpperCase() }), false)
    assert.equal(
      verifyMessage({ ...signed.message, signature: signed.message.signature.slice(0, -2) }),
      false,
    )
  })
})

describe('hashing', () => {
  test('canonical text, hash and signature are deterministic', () => {
    assertProperty(
      fc.property(unsignedMessage, (unsigned) => {
        const a = signMessage(unsigned, identity)
        const b = signMessage(unsigned, identity)
        assert.equal(a.wireText, b.wireText)
        assert.equal(canonicalize(unsigned).text, a.canonicalText)
        assert.equal(sha256Hex(a.canonicalText), a.message.hash)
        assert.equal(sha256Hex(utf8(a.canonicalText)), a.message.hash)
      }),
      RUNS,
    )
  })
  test('content byte length is the UTF-8 length of the canonical content', () => {
    assertProperty(
      fc.property(unsignedMessage, (unsigned) => {
        const { text, contentBytes } = canonicalize(unsigned)
        const contentText = text.slice(text.indexOf('"content":') + '"content":'.length)
        assert.ok(contentBytes > 0 && contentBytes <= utf8(contentText).length)
      }),
      RUNS,
    )
  })
})
