/**
 * message-hash.json (PROTOCOL.md §1.2–§1.10): canonical unsigned bytes and their SHA-256, the
 * signatures of the sample feed, rejected inputs, and the wire form.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseJson } from '../../src/codec/index.js'
import { identityFromSeed, sha256Hex } from '../../src/crypto/index.js'
import {
  canonicalize,
  parseMessage,
  parseUnsignedMessage,
  toWireText,
} from '../../src/feed/message.js'
import { signMessage, verifyMessage } from '../../src/feed/sign.js'
import {
  egregoreError,
  hasKeys,
  hex,
  loadVectors,
  str,
  type VectorEntry,
  checkEveryEntry,
} from '../helpers/vectors.js'

const entries = loadVectors(new URL('./message-hash.json', import.meta.url))

/** Signatures of the signed sample messages, by canonical text (for the wire entries). */
const signatureByCanonical = new Map<string, string>()
for (const e of entries) {
  const { canonical, signature_b64: sig } = e.expected
  if (typeof canonical === 'string' && typeof sig === 'string')
    signatureByCanonical.set(canonical, sig)
}

function canonicalOf(unsignedJson: string): string {
  return canonicalize(parseUnsignedMessage(parseJson(unsignedJson))).text
}

function hashTests(e: VectorEntry): void {
  const json = str(e.input, 'unsigned_json')
  test('re-emits the canonical unsigned text', () => {
    assert.equal(canonicalOf(json), str(e.expected, 'canonical'))
  })
  test('hashes the canonical text with SHA-256', () => {
    assert.equal(sha256Hex(canonicalOf(json)), str(e.expected, 'sha256_hex'))
  })
  test('canonical text is a fixed point of parse and re-emit', () => {
    const canonical = str(e.expected, 'canonical')
    assert.equal(canonicalOf(canonical), canonical)
  })
}

function signedTests(e: VectorEntry): void {
  hashTests(e)
  test('signing with the signer seed gives the expected signature', () => {
    const identity = identityFromSeed(hex(e.expected, 'signer_seed_hex'))
    const signed = signMessage(
      parseUnsignedMessage(parseJson(str(e.input, 'unsigned_json'))),
      identity,
    )
    assert.equal(signed.message.hash, str(e.expected, 'sha256_hex'))
    assert.equal(signed.message.signature, str(e.expected, 'signature_b64'))
    assert.equal(verifyMessage(signed.message), true)
    const reparsed = parseMessage(parseJson(signed.wireText))
    assert.equal(verifyMessage(reparsed), true)
    assert.equal(canonicalize(reparsed).text, str(e.expected, 'canonical'))
  })
}

function errorTests(e: VectorEntry): void {
  test('rejects the input with DECODE_ERROR', () => {
    assert.throws(() => canonicalOf(str(e.input, 'unsigned_json')), egregoreError('DECODE_ERROR'))
  })
}

function wireTests(e: VectorEntry): void {
  const canonical = str(e.input, 'canonical')
  const hash = sha256Hex(canonical)
  const signature = signatureByCanonical.get(canonical)
  const wire = str(e.expected, 'wire_json')
  test('the given hash and signature, when present, match the signed sample', () => {
    if ('sha256_hex' in e.input) assert.equal(str(e.input, 'sha256_hex'), hash)
    assert.ok(signature !== undefined, 'no signed entry has this canonical text')
    if ('signature_b64' in e.input) assert.equal(str(e.input, 'signature_b64'), signature)
  })
  test('toWireText inserts hash and signature before the final brace', () => {
    assert.equal(toWireText(canonical, hash, signature ?? ''), wire)
  })
  test('parsing the wire JSON round-trips to the same canonical text, hash and signature', () => {
    const m = parseMessage(parseJson(wire))
    const text = canonicalize(m).text
    assert.equal(text, canonical)
    assert.equal(m.hash, hash)
    assert.equal(m.signature, signature)
    assert.equal(toWireText(text, m.hash, m.signature), wire)
    assert.equal(verifyMessage(m), true)
  })
}

/** Choose the checks of an entry from the keys of its input and expected objects. */
function dispatch(e: VectorEntry): ((e: VectorEntry) => void) | null {
  const { input, expected } = e
  if (hasKeys(input, ['unsigned_json'])) {
    if (hasKeys(expected, ['canonical', 'sha256_hex'])) return hashTests
    if (hasKeys(expected, ['canonical', 'sha256_hex', 'signature_b64', 'signer_seed_hex']))
      return signedTests
    if ('error' in expected) return errorTests
  }
  if ('canonical' in input && hasKeys(expected, ['wire_json'])) return wireTests
  return null
}

checkEveryEntry('message-hash.json', entries, dispatch, describe, test)
