/**
 * Writing gossip documents (PROTOCOL.md §4.1, "Writing"): compact JSON, `type` first, then the
 * fields in the order of the §4.1 table, optional arrays omitted when empty, messages spliced in
 * as their stored wire text (never re-serialized), timestamps canonical. The 131072-byte limit of
 * an application message is enforced by the box-stream writer (`FRAME_TOO_LARGE`), not here.
 */
import { utf8, writeCanonical } from '../codec/index.js'
import type {
  FeedRequest,
  FeedState,
  OutgoingGossipMessage,
  PeerObservation,
  WireMessageText,
} from './gossip-types.js'

const U32_MAX = 0xffff_ffff

/** The document as UTF-8 bytes, ready to be sent as one application message. */
export function encodeGossipMessage(msg: OutgoingGossipMessage): Uint8Array {
  return utf8(writeGossipMessage(msg))
}

/**
 * The document as compact JSON text. Throws `RangeError` for a value the wire cannot carry (a
 * non-integer or out-of-range count): that is a bug in the caller, not a peer's fault.
 */
export function writeGossipMessage(msg: OutgoingGossipMessage): string {
  switch (msg.type) {
    case 'have': {
      let text = `{"type":"have","feeds":${list(msg.feeds, writeFeedState)}`
      if (msg.peerObservations.length > 0) {
        text += `,"peer_observations":${list(msg.peerObservations, writeObservation)}`
      }
      if (msg.subscribedTopics.length > 0) {
        text += `,"subscribed_topics":${list(msg.subscribedTopics, writeCanonical)}`
      }
      return text + '}'
    }
    case 'want':
      return `{"type":"want","requests":${list(msg.requests, writeFeedRequest)}}`
    case 'messages':
      return `{"type":"messages","messages":${list(msg.messages, wire)}}`
    case 'done':
      return '{"type":"done"}'
    case 'push':
      return `{"type":"push","message":${wire(msg.message)}}`
    case 'subscribe':
      return `{"type":"subscribe","mode":${writeCanonical(msg.mode)}}`
    case 'subscribeack':
      return `{"type":"subscribeack","accepted":${msg.accepted},"mode":${writeCanonical(msg.mode)}}`
    case 'credit_grant':
      return `{"type":"credit_grant","amount":${u32(msg.amount, 'amount')}}`
    case 'credit_request':
      return `{"type":"credit_request","suggested":${u32(msg.suggested, 'suggested')}}`
    case 'flow_control_ack':
      return (
        `{"type":"flow_control_ack","supported":${msg.supported},` +
        `"initial_credits":${u32(msg.initialCredits, 'initial_credits')}}`
      )
  }
}

function writeFeedState(f: FeedState): string {
  return `{"author":${writeCanonical(f.author)},"latest_sequence":${u53(f.latestSequence, 'latest_sequence')}}`
}

function writeFeedRequest(r: FeedRequest): string {
  return `{"author":${writeCanonical(r.author)},"after_sequence":${u53(r.afterSequence, 'after_sequence')}}`
}

function writeObservation(p: PeerObservation): string {
  return (
    `{"peer_id":${writeCanonical(p.peerId)},"last_seen_at":${writeCanonical(p.lastSeenAt)},` +
    `"last_seq":${u53(p.lastSeq, 'last_seq')},"generation":${u32(p.generation, 'generation')}}`
  )
}

/** A stored wire form, verbatim (§1.9): re-serializing could change 64-bit integers or floats. */
function wire(m: WireMessageText): string {
  return m.wireText
}

function list<T>(items: readonly T[], write: (item: T) => string): string {
  return `[${items.map((item) => write(item)).join(',')}]`
}

/** A u64 field held as a JavaScript number: a safe non-negative integer. */
function u53(n: number, name: string): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name}: not a u64 integer: ${n}`)
  return String(n)
}

function u32(n: number, name: string): string {
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) {
    throw new RangeError(`${name}: not a u32 integer: ${n}`)
  }
  return String(n)
}
