/**
 * Messages: the structural parser of received messages (PROTOCOL.md §1.10), the one function
 * that builds the canonical hash preimage (§1.2), the wire form (§1.9), content type (§1.8.1)
 * and the searchable text of content (§6.3).
 */
import {
  U64_MAX,
  parseTimestamp,
  utf8Length,
  writeCanonical,
  type JsonObject,
  type JsonValue,
  type Timestamp,
} from '../codec/index.js'
import { EgregoreError } from '../errors.js'

/** A message without hash and signature. Envelope fields are present only when set (§1.7). */
export interface UnsignedMessage {
  /** Public ID text; its key is checked at ingest, not when parsing. */
  readonly author: string
  /** Sequence (≥ 1 for a valid message; values above 2^53 − 1 are rejected at ingest). */
  readonly sequence: number
  readonly previous: string | null
  readonly timestamp: Timestamp
  readonly content: JsonValue
  readonly schemaId?: string
  readonly relates?: string
  readonly tags?: readonly string[]
  readonly traceId?: string
  readonly spanId?: string
  readonly expiresAt?: Timestamp
}

/** A signed message as received or published. */
export interface Message extends UnsignedMessage {
  readonly hash: string
  readonly signature: string
}

/** The canonical unsigned text of a message and the byte length of its canonical content. */
export interface Canonical {
  readonly text: string
  readonly contentBytes: number
}

/**
 * The canonical unsigned text (§1.2): the only function in the codebase that builds the hash
 * preimage. Hash = SHA-256 of its UTF-8 bytes.
 */
export function canonicalize(m: UnsignedMessage, contentText?: string): Canonical {
  // Messages are immutable, so the canonical text of one object is computed once: a received
  // message is canonicalized for its wire text when parsed and again for its hash at ingest.
  const cached = canonicalCache.get(m)
  if (cached !== undefined) return cached
  const canonical = buildCanonical(m, contentText)
  canonicalCache.set(m, canonical)
  return canonical
}

const canonicalCache = new WeakMap<UnsignedMessage, Canonical>()

function buildCanonical(m: UnsignedMessage, contentText?: string): Canonical {
  // `contentText`, when given, must be writeCanonical(m.content) (publish computes it once).
  const content = contentText ?? writeCanonical(m.content)
  let text =
    `{"author":${writeCanonical(m.author)},"sequence":${m.sequence},` +
    `"previous":${m.previous === null ? 'null' : writeCanonical(m.previous)},` +
    `"timestamp":"${m.timestamp}","content":${content}`
  if (m.schemaId !== undefined) text += `,"schema_id":${writeCanonical(m.schemaId)}`
  if (m.relates !== undefined) text += `,"relates":${writeCanonical(m.relates)}`
  if (m.tags !== undefined && m.tags.length > 0) text += `,"tags":${writeCanonical([...m.tags])}`
  if (m.traceId !== undefined) text += `,"trace_id":${writeCanonical(m.traceId)}`
  if (m.spanId !== undefined) text += `,"span_id":${writeCanonical(m.spanId)}`
  if (m.expiresAt !== undefined) text += `,"expires_at":"${m.expiresAt}"`
  return { text: text + '}', contentBytes: utf8Length(content) }
}

/** The wire form (§1.9): canonical text with `hash` and `signature` appended. */
export function toWireText(canonicalText: string, hash: string, signature: string): string {
  return `${canonicalText.slice(0, -1)},"hash":${writeCanonical(hash)},"signature":${writeCanonical(signature)}}`
}

/** Parse a received signed message (§1.10). Throws `DECODE_ERROR` when structurally invalid. */
export function parseMessage(value: JsonValue): Message {
  const obj = asObject(value)
  const unsigned = readUnsigned(obj)
  return {
    ...unsigned,
    hash: requireString(obj, 'hash'),
    signature: requireString(obj, 'signature'),
  }
}

/** Parse a message that may lack `hash` and `signature` (test vectors, tools). */
export function parseUnsignedMessage(value: JsonValue): UnsignedMessage {
  return readUnsigned(asObject(value))
}

function readUnsigned(obj: JsonObject): UnsignedMessage {
  const previous = obj['previous']
  if (previous !== undefined && previous !== null && typeof previous !== 'string') {
    throw bad("'previous' must be a string or null")
  }
  if (!('content' in obj)) throw bad("missing field 'content'")
  const m: {
    -readonly [K in keyof UnsignedMessage]: UnsignedMessage[K]
  } = {
    author: requireString(obj, 'author'),
    sequence: readSequence(obj['sequence']),
    previous: previous ?? null,
    timestamp: parseTimestamp(requireString(obj, 'timestamp')),
    content: obj['content'],
  }
  const schemaId = optionalString(obj, 'schema_id')
  if (schemaId !== undefined) m.schemaId = schemaId
  const relates = optionalString(obj, 'relates')
  if (relates !== undefined) m.relates = relates
  const tags = readTags(obj['tags'])
  if (tags !== undefined) m.tags = tags
  const traceId = optionalString(obj, 'trace_id')
  if (traceId !== undefined) m.traceId = traceId
  const spanId = optionalString(obj, 'span_id')
  if (spanId !== undefined) m.spanId = spanId
  const expires = optionalString(obj, 'expires_at')
  if (expires !== undefined) m.expiresAt = parseTimestamp(expires)
  return m
}

function readSequence(v: JsonValue | undefined): number {
  if (typeof v !== 'bigint') throw bad("'sequence' must be an integer")
  if (v < 0n || v > U64_MAX) throw bad("'sequence' out of range")
  // Values above 2^53 − 1 lose precision here but are rejected at ingest (§5.2 step 1).
  return Number(v)
}

function readTags(v: JsonValue | undefined): string[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) {
    throw bad("'tags' must be an array of strings")
  }
  return v.length === 0 ? undefined : v
}

function asObject(value: JsonValue): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('a message must be a JSON object')
  }
  return value
}

function requireString(obj: JsonObject, key: string): string {
  const v = obj[key]
  if (typeof v !== 'string')
    throw bad(v === undefined ? `missing field '${key}'` : `'${key}' must be a string`)
  return v
}

function optionalString(obj: JsonObject, key: string): string | undefined {
  const v = obj[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw bad(`'${key}' must be a string`)
  return v
}

function bad(reason: string): EgregoreError {
  return new EgregoreError('DECODE_ERROR', `invalid message: ${reason}`)
}

/** Content type for filtering (§1.8.1): `content.type` when a string, else `"unknown"`. */
export function contentTypeOf(content: JsonValue): string {
  if (isObject(content)) {
    const t = content['type']
    if (typeof t === 'string') return t
  }
  return 'unknown'
}

/** Searchable text (§6.3): string values at any depth, except the top-level `type`, one per line. */
export function searchTextOf(content: JsonValue): string {
  const out: string[] = []
  const walk = (v: JsonValue, top: boolean): void => {
    if (typeof v === 'string') out.push(v)
    else if (Array.isArray(v)) for (const x of v) walk(x, false)
    else if (isObject(v)) {
      for (const k of Object.keys(v)) if (!(top && k === 'type')) walk(v[k] as JsonValue, false)
    }
  }
  walk(content, true)
  return out.join('\n')
}

/** True for a JSON object (not an array, not null). */
export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
