/**
 * Properties of the gossip codec (PROTOCOL.md §4.1): writing then parsing any valid document
 * gives it back (and the same text); arbitrary bytes either parse or throw `DECODE_ERROR`; a
 * hostile sweep over valid documents (every truncation, trailing bytes, every field replaced by
 * a wrong-typed or out-of-range value) is rejected cleanly. Seed: FC_SEED (default 1).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  MAX_SEQUENCE,
  parseJson,
  timestampFromMillis,
  utf8,
  writeCanonical,
  type JsonObject,
  type JsonValue,
} from '../../src/codec/index.js'
import { EgregoreError } from '../../src/errors.js'
import { canonicalize, toWireText, type UnsignedMessage } from '../../src/feed/message.js'
import {
  parseGossipMessage,
  writeGossipMessage,
  type GossipMessage,
  type OutgoingGossipMessage,
} from '../../src/replication/index.js'
import { jsonString, jsonValue } from '../helpers/json-arbitraries.js'

const SEED = Number(process.env['FC_SEED'] ?? 1)

function check<T>(property: fc.IProperty<T>, numRuns: number): void {
  try {
    fc.assert(property, { seed: SEED, numRuns })
  } catch (err) {
    console.error(`property failed with FC_SEED=${SEED} (rerun with that environment variable)`)
    throw err
  }
}

const A = '@A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=.ed25519'
const author = fc.oneof(fc.constant(A), jsonString)
const u53 = fc.oneof(
  fc.integer({ min: 0, max: MAX_SEQUENCE }),
  fc.constantFrom(0, 1, 2 ** 32, MAX_SEQUENCE),
)
const u32 = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(0, 2 ** 32 - 1))
const timestamp = fc
  .integer({ min: -62167219200000, max: 253402300799999 })
  .map((ms) => timestampFromMillis(ms))
const hex64 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('hex'))

/** The canonical wire text of a structurally valid (not necessarily well-signed) message. */
const wireText: fc.Arbitrary<string> = fc
  .record({
    author,
    sequence: u53,
    previous: fc.option(hex64, { nil: null }),
    timestamp,
    content: jsonValue,
    tags: fc.option(fc.array(jsonString, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    hash: hex64,
    signature: jsonString,
  })
  .map((r) => {
    const m: { -readonly [K in keyof UnsignedMessage]: UnsignedMessage[K] } = {
      author: r.author,
      sequence: r.sequence,
      previous: r.previous,
      timestamp: r.timestamp,
      content: r.content,
    }
    if (r.tags !== undefined) m.tags = r.tags
    return toWireText(canonicalize(m).text, r.hash, r.signature)
  })

const document: fc.Arbitrary<OutgoingGossipMessage> = fc.oneof(
  fc.record({
    type: fc.constant('have' as const),
    feeds: fc.array(fc.record({ author, latestSequence: u53 }), { maxLength: 4 }),
    peerObservations: fc.array(
      fc.record({ peerId: author, lastSeenAt: timestamp, lastSeq: u53, generation: u32 }),
      { maxLength: 3 },
    ),
    subscribedTopics: fc.array(jsonString, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('want' as const),
    requests: fc.array(fc.record({ author, afterSequence: u53 }), { maxLength: 4 }),
  }),
  fc.record({
    type: fc.constant('messages' as const),
    messages: fc.array(
      wireText.map((w) => ({ wireText: w })),
      { maxLength: 3 },
    ),
  }),
  fc.constant({ type: 'done' as const }),
  fc.record({
    type: fc.constant('push' as const),
    message: wireText.map((w) => ({ wireText: w })),
  }),
  fc.record({
    type: fc.constant('subscribe' as const),
    mode: fc.constantFrom('persistent' as const, 'pull_only' as const),
  }),
  fc.record({
    type: fc.constant('subscribeack' as const),
    accepted: fc.boolean(),
    mode: fc.constantFrom('persistent' as const, 'pull_only' as const),
  }),
  fc.record({ type: fc.constant('credit_grant' as const), amount: u32 }),
  fc.record({ type: fc.constant('credit_request' as const), suggested: u32 }),
  fc.record({
    type: fc.constant('flow_control_ack' as const),
    supported: fc.boolean(),
    initialCredits: u32,
  }),
)

/** Parse; `null` for a clean `DECODE_ERROR`; anything else thrown fails the test. */
function tryParse(bytes: Uint8Array): GossipMessage | null {
  try {
    return parseGossipMessage(bytes)
  } catch (err) {
    assert.ok(err instanceof EgregoreError, `non-Egregore error: ${String(err)}`)
    assert.equal(err.code, 'DECODE_ERROR')
    return null
  }
}

/** A parsed document with its messages reduced to wire texts, comparable to the generated one. */
function outgoing(doc: GossipMessage): OutgoingGossipMessage {
  if (doc.type === 'messages')
    return { type: 'messages', messages: doc.messages.map((m) => ({ wireText: m.wireText })) }
  if (doc.type === 'push') return { type: 'push', message: { wireText: doc.message.wireText } }
  return doc
}

describe('gossip codec properties', () => {
  test('parse ∘ write is the identity on valid documents, and write ∘ parse on their text', () => {
    check(
      fc.property(document, (doc) => {
        const text = writeGossipMessage(doc)
        const parsed = parseGossipMessage(utf8(text))
        // fc.record builds null-prototype objects: compare structure only.
        assert.deepEqual(structuredClone(outgoing(parsed)), structuredClone(doc))
        assert.equal(writeGossipMessage(parsed), text)
      }),
      300,
    )
  })

  test('the same document with its keys in any order and unknown keys parses the same', () => {
    check(
      fc.property(document, fc.integer(), jsonValue, (doc, seed, extra) => {
        const text = writeGossipMessage(doc)
        const value = parseJson(text) as JsonObject
        value['zz_unknown'] = extra
        // writeCanonical sorts keys by bytes: `type` lands wherever it sorts (rule 2).
        const shuffled = seed % 2 === 0 ? writeCanonical(value) : text
        assert.equal(writeGossipMessage(parseGossipMessage(utf8(shuffled))), text)
      }),
      200,
    )
  })

  test('arbitrary bytes and JSON either parse or throw DECODE_ERROR, nothing else', () => {
    const jsonish = fc.oneof(
      jsonValue.map((v) => writeCanonical(v)),
      fc
        .tuple(
          fc.constantFrom('have', 'want', 'messages', 'push', 'subscribe', 'credit_grant'),
          jsonValue,
        )
        .map(([type, v]) => {
          const o = Object.create(null) as JsonObject
          o['type'] = type
          for (const k of ['feeds', 'requests', 'messages', 'message', 'mode', 'amount']) o[k] = v
          return writeCanonical(o)
        }),
    )
    check(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), jsonish.map(utf8)), (bytes) => {
        const doc = tryParse(bytes)
        if (doc !== null) assert.equal(typeof writeGossipMessage(doc), 'string')
      }),
      500,
    )
  })

  test('hostile sweep: truncations, trailing bytes and wrong-typed fields are all rejected', () => {
    check(
      fc.property(
        document,
        fc.constantFrom(',', 'x', '}', '{}', '"', '0', '\u0000'),
        (doc, junk) => {
          const text = writeGossipMessage(doc)
          const bytes = utf8(text)
          for (let n = 0; n < bytes.length; n++) assert.equal(tryParse(bytes.subarray(0, n)), null)
          assert.equal(tryParse(utf8(text + junk)), null)
          assert.notEqual(tryParse(utf8(` \n${text}\t `)), null)
          for (const mutated of wrongTyped(text)) {
            assert.equal(tryParse(utf8(mutated)), null, mutated.slice(0, 300))
          }
        },
      ),
      100,
    )
  })
})

const OBJ = (): JsonObject => Object.create(null) as JsonObject
const U32_FIELDS = new Set(['amount', 'suggested', 'initial_credits', 'generation'])

/** Values of the wrong JSON type (or out of range) for a field holding `v`. */
function wrongValues(key: string, v: JsonValue): JsonValue[] {
  if (typeof v === 'bigint') {
    return ['1', 1.5, 1, null, true, -1n, [], U32_FIELDS.has(key) ? 2n ** 32n : 1e20]
  }
  if (typeof v === 'string') {
    if (key === 'mode') return ['Persistent', 'pull-only', 1n, null]
    if (key === 'last_seen_at') return ['not a time', 1n, null]
    return [1n, null, true, [], OBJ()]
  }
  if (typeof v === 'boolean') return ['true', 0n, null]
  return Array.isArray(v) ? [null, OBJ(), 'x', 1n] : [null, 1n, 'x', []]
}

/**
 * Every document obtained from `text` by replacing one field (top level, or inside a feed,
 * request or observation, or a whole embedded message / topic) with a wrong value. Embedded
 * messages are replaced whole: their inner rules belong to feed/message.ts (§1.10).
 */
function wrongTyped(text: string): string[] {
  const out: string[] = []
  const root = parseJson(text) as JsonObject
  const emit = (set: (fresh: JsonObject) => void): void => {
    const fresh = parseJson(text) as JsonObject
    set(fresh)
    out.push(writeCanonical(fresh))
  }
  for (const t of ['Done', 1n, null]) emit((f) => (f['type'] = t))
  for (const key of Object.keys(root)) {
    if (key === 'type') continue
    const value = root[key] as JsonValue
    for (const w of wrongValues(key, value)) emit((f) => (f[key] = w))
    if (key !== 'peer_observations' && key !== 'subscribed_topics')
      emit((f) => Reflect.deleteProperty(f, key))
    if (!Array.isArray(value)) continue
    value.forEach((item, i) => {
      const at = (f: JsonObject): JsonValue[] => f[key] as JsonValue[]
      const replacements = key === 'subscribed_topics' ? [1n, null] : [null, 1n, 'x', []]
      for (const w of replacements) emit((f) => (at(f)[i] = w))
      if (key === 'messages' || typeof item !== 'object' || item === null || Array.isArray(item))
        return
      for (const field of Object.keys(item)) {
        for (const w of wrongValues(field, item[field] as JsonValue)) {
          emit((f) => ((at(f)[i] as JsonObject)[field] = w))
        }
        emit((f) => Reflect.deleteProperty(at(f)[i] as JsonObject, field))
      }
    })
  }
  return out
}
