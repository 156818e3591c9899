/**
 * gossip-transcript.json (PROTOCOL.md §4.1, §3.4–§3.6, §4.3, §4.7): the encrypted A-dials-B
 * session on the session keys of handshake.json, the alternative endings, the plaintext reverse
 * direction, the serialized form of every document type, parse accept/reject cases and HEAD's
 * Bloom summary.
 *
 * `bloom_summaries`: our decoder ignores the key (rule 6) and our writer never emits it, so a
 * document carrying it re-encodes to the same text *without* that key (`withoutBloom`), and such a
 * document (sent by a HEAD node) is not re-encrypted: our node would send different bytes.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseJson, parseTimestamp, toBase64, toHex, utf8 } from '../../src/codec/index.js'
import {
  createBoxDecryptor,
  createBoxEncryptor,
  encodeMessage,
  incrementNonce,
  sha256,
  type BoxStreamKeys,
} from '../../src/crypto/index.js'
import { canonicalize, parseMessage, toWireText } from '../../src/feed/message.js'
import { decodeAll } from '../../src/net/index.js'
import {
  encodeGossipMessage,
  parseGossipMessage,
  writeGossipMessage,
  type OutgoingGossipMessage,
} from '../../src/replication/index.js'
import {
  checkEveryEntry,
  egregoreError,
  hasKeys,
  hex,
  ints,
  loadVectors,
  str,
  type Fields,
  type VectorEntry,
} from '../helpers/vectors.js'

const entries = loadVectors(new URL('./gossip-transcript.json', import.meta.url))
const session = loadVectors(new URL('./handshake.json', import.meta.url)).find((e) =>
  hasKeys(e.expected, [
    'c2s_key_hex',
    'c2s_nonce_hex',
    's2c_key_hex',
    's2c_nonce_hex',
    'client_encrypts_with',
    'client_decrypts_with',
    'server_encrypts_with',
    'server_decrypts_with',
  ]),
)
assert.ok(session !== undefined, 'handshake.json: no session-keys entry')

const A = '@A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=.ed25519'
const decoder = new TextDecoder('utf-8', { fatal: true })

function sessionKey(direction: string): Uint8Array {
  assert.ok(direction === 'c2s' || direction === 's2c', `direction ${direction}`)
  return hex(session!.expected, `${direction}_key_hex`)
}

function records(fields: Fields, key: string): Fields[] {
  const v = fields[key]
  assert.ok(Array.isArray(v), `field '${key}' should be an array`)
  return v as Fields[]
}

function strings(fields: Fields, key: string): string[] {
  const v = fields[key]
  assert.ok(Array.isArray(v) && v.every((x) => typeof x === 'string'), `'${key}': strings`)
  return v
}

function addToNonce(nonceHex: string, n: number): string {
  const nonce = Uint8Array.from(Buffer.from(nonceHex, 'hex'))
  for (let i = 0; i < n; i++) incrementNonce(nonce)
  return toHex(nonce)
}

/** `text` with its `,"bloom_summaries":[…]` member removed (balanced-bracket scan, strings skipped). */
function withoutBloom(text: string): string {
  const key = ',"bloom_summaries":'
  const start = text.indexOf(key)
  if (start < 0) return text
  let i = start + key.length
  let depth = 0
  let inString = false
  for (; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '[' || c === '{') depth++
    else if (c === ']' || c === '}') {
      depth--
      if (depth === 0) break
    }
  }
  return text.slice(0, start) + text.slice(i + 1)
}

/** Parse a document and write it back. */
function reencode(json: string): string {
  return writeGossipMessage(parseGossipMessage(utf8(json)))
}

/** encode(parse(x)) equals x byte for byte (x without `bloom_summaries`, see the header). */
function checkRoundTrip(json: string): void {
  const expected = withoutBloom(json)
  assert.equal(reencode(json), expected)
  assert.deepEqual(encodeGossipMessage(parseGossipMessage(utf8(json))), utf8(expected))
  // Parsing with or without the ignored member gives the same document.
  assert.deepEqual(parseGossipMessage(utf8(json)), parseGossipMessage(utf8(expected)))
}

/** Entry 0: the three messages of feed A, and their embedding in `messages` / `push`. */
function feedTests(e: VectorEntry): void {
  const wires = strings(e.expected, 'messages_wire_json')
  const author = str(e.expected, 'author')
  test('each wire text is structurally valid and its own canonical wire form (§1.9)', () => {
    assert.equal(author, A)
    assert.equal(wires.length, 3)
    wires.forEach((w, i) => {
      const m = parseMessage(parseJson(w))
      assert.equal(m.author, author)
      assert.equal(m.sequence, i + 1)
      assert.equal(toWireText(canonicalize(m).text, m.hash, m.signature), w)
    })
  })
  test('messages embedded verbatim by the writer; the parser keeps message and wire text', () => {
    const doc: OutgoingGossipMessage = {
      type: 'messages',
      messages: wires.slice(0, 2).map((wireText) => ({ wireText })),
    }
    const step6 = transcriptJson('a_dials_b', 6)
    assert.equal(writeGossipMessage(doc), step6)
    const parsed = parseGossipMessage(utf8(step6))
    assert.ok(parsed.type === 'messages')
    assert.deepEqual(
      parsed.messages.map((r) => r.wireText),
      wires.slice(0, 2),
    )
    assert.deepEqual(
      parsed.messages.map((r) => r.message.sequence),
      [1, 2],
    )
    const push = writeGossipMessage({ type: 'push', message: { wireText: wires[2]! } })
    assert.equal(push, transcriptJson('a_dials_b', 10))
    const back = parseGossipMessage(utf8(push))
    assert.ok(back.type === 'push')
    assert.equal(back.message.wireText, wires[2])
    assert.equal(back.message.message.traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
  })
}

function transcriptJson(scenario: string, step: number): string {
  const e = entries.find((x) => x.input['scenario'] === scenario && x.input['step'] === step)
  assert.ok(e !== undefined, `no ${scenario} step ${step}`)
  return str(e.input, 'json')
}

/** Entries 1–12: one encrypted application message each. */
function frameTests(e: VectorEntry): void {
  const json = str(e.input, 'json')
  const direction = str(e.input, 'direction')
  const nonceBefore = str(e.input, 'nonce_before_hex')
  const frames = records(e.expected, 'frames')
  const wire = Buffer.concat(frames.map((f) => hex(f, 'wire_hex')))
  const keys = (): BoxStreamKeys => ({
    key: sessionKey(direction),
    nonce: hex(e.input, 'nonce_before_hex'),
  })
  test('frame nonces continue from nonce_before and lengths match the wire', () => {
    frames.forEach((f, i) => {
      assert.equal(str(f, 'header_nonce_hex'), addToNonce(nonceBefore, 2 * i))
      assert.equal(str(f, 'body_nonce_hex'), addToNonce(nonceBefore, 2 * i + 1))
      assert.equal(hex(f, 'wire_hex').length, 4 + (f['frame_length'] as number))
    })
  })
  test('decrypts with the session key of its direction to exactly the document', () => {
    const { messages, goodbye } = decodeAll(keys(), wire)
    assert.equal(goodbye, false)
    assert.equal(messages.length, 1)
    assert.equal(decoder.decode(messages[0]), json)
  })
  test('the decrypted document parses and re-encodes to the same bytes', () => {
    const [bytes] = decodeAll(keys(), wire).messages
    assert.ok(bytes !== undefined)
    checkRoundTrip(decoder.decode(bytes))
    if (!json.includes('"bloom_summaries"')) {
      assert.deepEqual(encodeGossipMessage(parseGossipMessage(bytes)), Uint8Array.from(bytes))
    }
  })
  test('encrypting our encoding gives the same frames (unless the sender is HEAD with Bloom summaries)', () => {
    const doc = parseGossipMessage(utf8(json))
    if (json.includes('"bloom_summaries"')) {
      // A HEAD node's have: ours would omit bloom_summaries, so the frames differ by design.
      assert.notEqual(writeGossipMessage(doc), json)
      return
    }
    const ours = encodeMessage(createBoxEncryptor(keys()), encodeGossipMessage(doc))
    assert.equal(toHex(ours), toHex(wire))
  })
}

/** Entry 13: goodbyes after the pull phase, at the nonce where each direction stopped. */
function goodbyeTests(e: VectorEntry): void {
  const after = e.input['branch_after_step']
  assert.equal(typeof after, 'number')
  for (const direction of ['c2s', 's2c']) {
    const g = e.expected[`${direction}_goodbye`] as Fields
    test(`${direction} goodbye decrypts as goodbye at the next nonce of that direction`, () => {
      const steps = entries.filter(
        (x) =>
          x.input['scenario'] === 'a_dials_b' &&
          x.input['direction'] === direction &&
          typeof x.input['step'] === 'number' &&
          x.input['step'] <= (after as number),
      )
      const last = steps.at(-1)
      assert.ok(last !== undefined)
      const frames = records(last.expected, 'frames').length
      assert.equal(str(g, 'nonce_hex'), addToNonce(str(last.input, 'nonce_before_hex'), 2 * frames))
      const keys = { key: sessionKey(direction), nonce: hex(g, 'nonce_hex') }
      const r = decodeAll(keys, hex(g, 'wire_hex'))
      assert.equal(r.goodbye, true)
      assert.equal(r.messages.length, 0)
      assert.equal(createBoxDecryptor(keys).openHeader(hex(g, 'wire_hex').subarray(4)), null)
    })
  }
}

/** Entries 14 and 15: plaintext documents of the alternative endings and the reverse direction. */
function plaintextTests(e: VectorEntry): void {
  const docs = records(e.expected, 'documents')
  test('every document parses and re-encodes to the same text', () => {
    assert.ok(docs.length > 0)
    for (const d of docs) checkRoundTrip(str(d, 'json'))
  })
  if (e.input['scenario'] === 'a_dials_b') {
    test('the declined subscribe: domain values encode to the documents', () => {
      assert.deepEqual(
        docs.map((d) => str(d, 'json')),
        [
          writeGossipMessage({ type: 'subscribe', mode: 'persistent' }),
          writeGossipMessage({ type: 'subscribeack', accepted: false, mode: 'pull_only' }),
        ],
      )
    })
  }
}

/** The domain values of entry 16, in the order of its documents. */
const SERIALIZED_FORMS: readonly OutgoingGossipMessage[] = [
  { type: 'have', feeds: [], peerObservations: [], subscribedTopics: [] },
  {
    type: 'have',
    feeds: [{ author: A, latestSequence: 2 }],
    peerObservations: [
      {
        peerId: A,
        lastSeenAt: parseTimestamp('2026-02-19T20:11:44.123456789Z'),
        lastSeq: 2,
        generation: 3,
      },
    ],
    subscribedTopics: ['rust'],
  },
  { type: 'want', requests: [] },
  { type: 'want', requests: [{ author: A, afterSequence: 0 }] },
  { type: 'messages', messages: [] },
  { type: 'done' },
  { type: 'subscribe', mode: 'persistent' },
  { type: 'subscribeack', accepted: true, mode: 'persistent' },
  { type: 'subscribeack', accepted: false, mode: 'pull_only' },
  { type: 'credit_grant', amount: 50 },
  { type: 'credit_request', suggested: 50 },
  { type: 'flow_control_ack', supported: true, initialCredits: 100 },
]

/** Entry 16: the exact serialized form of every document type. */
function serializedFormTests(e: VectorEntry): void {
  const docs = strings(e.expected, 'documents')
  test('encode(parse(x)) === x for every form', () => {
    for (const d of docs) checkRoundTrip(d)
  })
  test('encoding the domain values gives the forms', () => {
    assert.deepEqual(
      SERIALIZED_FORMS.map((m) => writeGossipMessage(m)),
      docs.map(withoutBloom),
    )
    assert.deepEqual(
      docs.map((d) => parseGossipMessage(utf8(d)).type),
      SERIALIZED_FORMS.map((m) => m.type),
    )
  })
}

function acceptTests(e: VectorEntry): void {
  test('accepted; writes the re-serialized form, which parses to the same document', () => {
    const json = str(e.input, 'json')
    const reserialized = str(e.expected, 'reserialized')
    assert.equal(reencode(json), reserialized)
    assert.deepEqual(parseGossipMessage(utf8(json)), parseGossipMessage(utf8(reserialized)))
    assert.equal(reencode(reserialized), reserialized)
  })
}

function rejectTests(e: VectorEntry): void {
  test(`rejected with ${str(e.expected, 'error')}`, () => {
    assert.equal(str(e.expected, 'error'), 'DECODE_ERROR')
    assert.throws(
      () => parseGossipMessage(utf8(str(e.input, 'json'))),
      egregoreError('DECODE_ERROR'),
    )
  })
}

/**
 * Entry 41: HEAD's Bloom summary. Our node neither builds nor reads Bloom filters (§4.1), so
 * there is no production code to test; this recomputes the filter with the rule of §4.1 to check
 * that the `bloom_summaries` our decoder ignores in entries 1, 15 and 16 is what HEAD sends.
 */
function bloomTests(e: VectorEntry): void {
  test('the filter follows the rule of §4.1', () => {
    const hashes = strings(e.input, 'hashes')
    const n = hashes.length
    const m = Math.min(65536, Math.max(64, Math.ceil((-n * Math.log(0.01)) / Math.LN2 ** 2)))
    const k = n === 0 ? 1 : Math.min(16, Math.max(1, Math.ceil((m / n) * Math.LN2)))
    const bits = new Uint8Array(Math.ceil(m / 8))
    let count = 0
    const perMessage = e.expected['bit_positions_per_message'] as unknown[]
    hashes.forEach((h, j) => {
      const positions: number[] = []
      let setNewBit = false
      for (let i = 0; i < k; i++) {
        const digest = sha256(Buffer.concat([Buffer.from(h, 'ascii'), Buffer.from([i])]))
        const index = Number(Buffer.from(digest).readBigUInt64LE(0) % BigInt(m))
        positions.push(index)
        const mask = 1 << (index % 8)
        const byte = bits[index >> 3] ?? 0
        if ((byte & mask) === 0) setNewBit = true
        bits[index >> 3] = byte | mask
      }
      // `count` counts inserts (hashes) that set at least one new bit, not bits.
      if (setNewBit) count++
      assert.deepEqual(positions, ints({ p: perMessage[j] }, 'p'))
    })
    const filter = e.expected['filter'] as Fields
    assert.deepEqual({ bits: toBase64(bits), num_bits: m, num_hashes: k, count }, { ...filter })
    assert.ok(str(e.expected, 'rule').length > 0)
  })
}

/** Choose the checks of an entry from the keys of its input and expected objects. */
function dispatch(e: VectorEntry): ((e: VectorEntry) => void) | null {
  const { input, expected } = e
  if (hasKeys(expected, ['author', 'messages_wire_json'])) return feedTests
  if (hasKeys(input, ['scenario', 'step', 'from', 'direction', 'json', 'nonce_before_hex']))
    return hasKeys(expected, ['frames']) ? frameTests : null
  if (hasKeys(input, ['scenario', 'branch_after_step'])) {
    if (hasKeys(expected, ['c2s_goodbye', 's2c_goodbye'])) return goodbyeTests
    if (hasKeys(expected, ['documents'])) return plaintextTests
  }
  if (hasKeys(input, ['scenario']) && hasKeys(expected, ['documents'])) return plaintextTests
  if (hasKeys(input, []) && hasKeys(expected, ['documents'])) return serializedFormTests
  if (hasKeys(input, ['json'])) {
    if (hasKeys(expected, ['reserialized'])) return acceptTests
    if (hasKeys(expected, ['error', 'serde_json_message'])) return rejectTests
  }
  if (hasKeys(input, ['hashes'])) return bloomTests
  return null
}

checkEveryEntry('gossip-transcript.json', entries, dispatch, describe, test)

test('gossip-transcript.json has the 42 entries of its README', () => {
  assert.equal(entries.length, 42)
})
