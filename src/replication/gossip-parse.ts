/**
 * Decoding gossip documents (PROTOCOL.md §4.1, "Parsing", rules 1–7 in order). Untrusted bytes
 * → a `GossipMessage` or `DECODE_ERROR`; nothing else is thrown for any input.
 */
import {
  MAX_SEQUENCE,
  U64_MAX,
  parseJsonBytes,
  parseTimestamp,
  writeCanonical,
  type JsonObject,
  type JsonValue,
} from '../codec/index.js'
import { EgregoreError, isEgregoreError } from '../errors.js'
import { canonicalize, parseMessage, toWireText } from '../feed/message.js'
import {
  DEFAULT_DECODE_LIMITS,
  GOSSIP_TYPES,
  type DecodeLimits,
  type FeedRequest,
  type FeedState,
  type GossipMessage,
  type GossipType,
  type PeerObservation,
  type ReceivedMessage,
  type SubscribeMode,
} from './gossip-types.js'

const U32_MAX = 0xffff_ffffn
const MAX_SEQUENCE_BIG = BigInt(MAX_SEQUENCE)
const TYPES: ReadonlySet<string> = new Set(GOSSIP_TYPES)
const MODES: ReadonlySet<string> = new Set<SubscribeMode>(['persistent', 'pull_only'])

/**
 * Decode one gossip document (one reassembled application message). Unknown keys are ignored,
 * `bloom_summaries` is not even looked at, missing optional arrays become empty, and the count
 * limits truncate after validation (see `DecodeLimits`). Throws `DECODE_ERROR`.
 */
export function parseGossipMessage(
  bytes: Uint8Array,
  limits: Partial<DecodeLimits> = {},
): GossipMessage {
  const lim: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, ...limits }
  // Rule 1: size (before parsing), valid JSON, an object.
  if (bytes.length > lim.maxBytes) {
    throw bad(`document of ${bytes.length} bytes exceeds ${lim.maxBytes}`)
  }
  const root = parseJsonBytes(bytes)
  if (!isObject(root)) throw bad('a gossip document must be a JSON object')
  // Rule 2: `type`, anywhere in the object, one of the ten exact strings.
  const type = root['type']
  if (typeof type !== 'string')
    throw bad(type === undefined ? "missing 'type'" : "'type' must be a string")
  if (!TYPES.has(type)) {
    const shown = type.length <= 40 ? writeCanonical(type) : `of ${type.length} characters`
    throw bad(`unknown type ${shown}`)
  }
  // Rules 3–7, per type.
  return readDocument(type as GossipType, root, lim)
}

function readDocument(type: GossipType, o: JsonObject, lim: DecodeLimits): GossipMessage {
  switch (type) {
    case 'have':
      return {
        type,
        feeds: requireArray(o, 'feeds', 'have').map((v, i) => readFeedState(v, `have.feeds[${i}]`)),
        peerObservations: optionalArray(o, 'peer_observations', 'have')
          .map((v, i) => readObservation(v, `have.peer_observations[${i}]`))
          .slice(0, lim.maxPeerObservations),
        subscribedTopics: optionalArray(o, 'subscribed_topics', 'have').map((v, i) =>
          readString(v, `have.subscribed_topics[${i}]`),
        ),
        // Rule 6: `bloom_summaries` is ignored without validation.
      }
    case 'want':
      return {
        type,
        requests: requireArray(o, 'requests', 'want')
          .map((v, i) => readFeedRequest(v, `want.requests[${i}]`))
          .slice(0, lim.maxWantRequests),
      }
    case 'messages': {
      const values = requireArray(o, 'messages', 'messages')
      // Rule 7 for every message (HEAD fails the whole document on any of them), then keep N.
      const parsed = values.map((v, i) => readMessage(v, `messages.messages[${i}]`))
      return { type, messages: parsed.slice(0, lim.maxMessagesPerDocument).map(toReceived) }
    }
    case 'done':
      return { type }
    case 'push':
      return { type, message: toReceived(readMessage(field(o, 'message', 'push'), 'push.message')) }
    case 'subscribe':
      return { type, mode: readMode(o, 'subscribe') }
    case 'subscribeack':
      return {
        type,
        accepted: readBoolean(field(o, 'accepted', type), `${type}.accepted`),
        mode: readMode(o, type),
      }
    case 'credit_grant':
      return { type, amount: readU32(field(o, 'amount', type), `${type}.amount`) }
    case 'credit_request':
      return { type, suggested: readU32(field(o, 'suggested', type), `${type}.suggested`) }
    case 'flow_control_ack':
      return {
        type,
        supported: readBoolean(field(o, 'supported', type), `${type}.supported`),
        initialCredits: readU32(field(o, 'initial_credits', type), `${type}.initial_credits`),
      }
  }
}

function readFeedState(v: JsonValue, path: string): FeedState {
  const o = readObject(v, path)
  return {
    author: readString(field(o, 'author', path), `${path}.author`),
    latestSequence: clampSequence(
      readU64(field(o, 'latest_sequence', path), `${path}.latest_sequence`),
    ),
  }
}

function readFeedRequest(v: JsonValue, path: string): FeedRequest {
  const o = readObject(v, path)
  return {
    author: readString(field(o, 'author', path), `${path}.author`),
    afterSequence: clampSequence(
      readU64(field(o, 'after_sequence', path), `${path}.after_sequence`),
    ),
  }
}

function readObservation(v: JsonValue, path: string): PeerObservation {
  const o = readObject(v, path)
  const seen = readString(field(o, 'last_seen_at', path), `${path}.last_seen_at`)
  return {
    peerId: readString(field(o, 'peer_id', path), `${path}.peer_id`),
    lastSeenAt: withPath(path, () => parseTimestamp(seen)),
    lastSeq: clampSequence(readU64(field(o, 'last_seq', path), `${path}.last_seq`)),
    generation: readU32(field(o, 'generation', path), `${path}.generation`),
  }
}

/** Rule 7: structural validity of §1.10 (feed/message.ts owns it). */
function readMessage(v: JsonValue, path: string): ReturnType<typeof parseMessage> {
  return withPath(path, () => parseMessage(v))
}

/**
 * A received message with its canonical wire form (§1.9), built when first asked for: ingest
 * builds the stored form from the canonical text it hashes, so a pulled message never needs it.
 */
class Received implements ReceivedMessage {
  readonly message: ReturnType<typeof parseMessage>
  #wireText: string | undefined
  constructor(message: ReturnType<typeof parseMessage>) {
    this.message = message
  }
  get wireText(): string {
    const m = this.message
    return (this.#wireText ??= toWireText(canonicalize(m).text, m.hash, m.signature))
  }
}

function toReceived(message: ReturnType<typeof parseMessage>): ReceivedMessage {
  return new Received(message)
}

function readMode(o: JsonObject, type: string): SubscribeMode {
  const v = field(o, 'mode', type)
  if (typeof v !== 'string' || !MODES.has(v)) {
    throw bad(`${type}.mode must be "persistent" or "pull_only"`)
  }
  return v as SubscribeMode
}

/** §4.1: an advertised sequence above 2^53 − 1 is treated as 2^53 − 1. */
function clampSequence(v: bigint): number {
  return v > MAX_SEQUENCE_BIG ? MAX_SEQUENCE : Number(v)
}

/** Rule 3: an integer token in 0 … 2^64 − 1 (the parser makes integer tokens `bigint`). */
function readU64(v: JsonValue, path: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw bad(`${path} must be a u64 integer`)
  return v
}

/** Rule 3: an integer token in 0 … 2^32 − 1. */
function readU32(v: JsonValue, path: string): number {
  if (typeof v !== 'bigint' || v < 0n || v > U32_MAX) throw bad(`${path} must be a u32 integer`)
  return Number(v)
}

function readString(v: JsonValue, path: string): string {
  if (typeof v !== 'string') throw bad(`${path} must be a string`)
  return v
}

function readBoolean(v: JsonValue, path: string): boolean {
  if (typeof v !== 'boolean') throw bad(`${path} must be a boolean`)
  return v
}

function readObject(v: JsonValue, path: string): JsonObject {
  if (!isObject(v)) throw bad(`${path} must be an object`)
  return v
}

/** Rule 3: a required field, present (its type is checked by the caller). */
function field(o: JsonObject, key: string, path: string): JsonValue {
  const v = o[key]
  if (v === undefined) throw bad(`${path}: missing field '${key}'`)
  return v
}

function requireArray(o: JsonObject, key: string, path: string): JsonValue[] {
  const v = field(o, key, path)
  if (!Array.isArray(v)) throw bad(`${path}.${key} must be an array`)
  return v
}

/** Rule 4, the one place defaults are applied: missing → empty; `null` or another type → error. */
function optionalArray(o: JsonObject, key: string, path: string): JsonValue[] {
  const v = o[key]
  if (v === undefined) return []
  if (!Array.isArray(v)) throw bad(`${path}.${key} must be an array`)
  return v
}

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Run a nested decoder; prefix its `DECODE_ERROR` message with where it happened. */
function withPath<T>(path: string, f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (isEgregoreError(err, 'DECODE_ERROR')) throw bad(`${path}: ${err.message}`, err)
    throw err
  }
}

function bad(reason: string, cause?: unknown): EgregoreError {
  const message = `invalid gossip document: ${reason}`
  return cause === undefined
    ? new EgregoreError('DECODE_ERROR', message)
    : new EgregoreError('DECODE_ERROR', message, { cause })
}
