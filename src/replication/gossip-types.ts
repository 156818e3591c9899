/**
 * Gossip documents (PROTOCOL.md §4.1): the domain types of the ten document types and the count
 * limits of the decoder. Wire names (`latest_sequence`) appear only in gossip-parse.ts and
 * gossip-write.ts; everything else sees these camelCase types.
 */
import {
  MAX_GOSSIP_MESSAGE_BYTES,
  MAX_MESSAGES_PER_DOCUMENT,
  MAX_PEER_OBSERVATIONS,
  MAX_WANT_REQUESTS,
  type Timestamp,
} from '../codec/index.js'
import type { Message } from '../feed/message.js'

/** The ten values of `type`, exactly as on the wire (`subscribeack`, not `subscribe_ack`). */
export const GOSSIP_TYPES = [
  'have',
  'want',
  'messages',
  'done',
  'push',
  'subscribe',
  'subscribeack',
  'credit_grant',
  'credit_request',
  'flow_control_ack',
] as const
export type GossipType = (typeof GOSSIP_TYPES)[number]

/** `mode` of `subscribe` / `subscribeack` (§4.7.1). */
export type SubscribeMode = 'persistent' | 'pull_only'

/**
 * One feed of a `have`. `author` is not format-checked by the codec: §4.4 skips bad authors
 * entry by entry. `latestSequence` is clamped to 2^53 − 1 (§4.1).
 */
export interface FeedState {
  readonly author: string
  readonly latestSequence: number
}

/** One request of a `want`: everything of `author` after `afterSequence` (clamped to 2^53 − 1). */
export interface FeedRequest {
  readonly author: string
  readonly afterSequence: number
}

/** A mesh-health observation carried in a `have` (§4.12). `lastSeq` is clamped to 2^53 − 1. */
export interface PeerObservation {
  readonly peerId: string
  readonly lastSeenAt: Timestamp
  readonly lastSeq: number
  /** u32. */
  readonly generation: number
}

/** A message to embed when writing: its stored wire form (§1.9), spliced in verbatim. */
export interface WireMessageText {
  readonly wireText: string
}

/**
 * A message received in `messages` or `push`: the structurally valid parse (§1.10) and its wire
 * form re-serialized canonically (§1.9) — the text ingest hashes (via the parse) and stores.
 */
export interface ReceivedMessage extends WireMessageText {
  readonly message: Message
}

export interface Have {
  readonly type: 'have'
  readonly feeds: readonly FeedState[]
  /** Missing on the wire = empty; omitted when writing if empty. */
  readonly peerObservations: readonly PeerObservation[]
  /** HEAD topic filter (§4.5); our node never sends it. Missing = empty. */
  readonly subscribedTopics: readonly string[]
}

export interface Want {
  readonly type: 'want'
  readonly requests: readonly FeedRequest[]
}

export interface Messages<M extends WireMessageText = ReceivedMessage> {
  readonly type: 'messages'
  readonly messages: readonly M[]
}

export interface Done {
  readonly type: 'done'
}

export interface Push<M extends WireMessageText = ReceivedMessage> {
  readonly type: 'push'
  readonly message: M
}

export interface Subscribe {
  readonly type: 'subscribe'
  readonly mode: SubscribeMode
}

export interface SubscribeAck {
  readonly type: 'subscribeack'
  readonly accepted: boolean
  readonly mode: SubscribeMode
}

export interface CreditGrant {
  readonly type: 'credit_grant'
  /** u32. */
  readonly amount: number
}

export interface CreditRequest {
  readonly type: 'credit_request'
  /** u32. */
  readonly suggested: number
}

export interface FlowControlAck {
  readonly type: 'flow_control_ack'
  readonly supported: boolean
  /** u32. */
  readonly initialCredits: number
}

/**
 * A gossip document, discriminated on `type`. Parsed documents carry `ReceivedMessage`s; a
 * document to write only needs the wire text of its messages (`OutgoingGossipMessage`).
 */
export type GossipMessage<M extends WireMessageText = ReceivedMessage> =
  | Have
  | Want
  | Messages<M>
  | Done
  | Push<M>
  | Subscribe
  | SubscribeAck
  | CreditGrant
  | CreditRequest
  | FlowControlAck

/** What `encodeGossipMessage` accepts: any document whose messages are stored wire texts. */
export type OutgoingGossipMessage = GossipMessage<WireMessageText>

/**
 * Count limits of the decoder (STYLE.md §6). Only `maxBytes` rejects; the counts *truncate*:
 * the spec has the receiver consider only the first N entries (§4.5, §4.6, §4.12), so a longer
 * list is not an error. Every entry is still validated before truncation (rule 3 and 7 of §4.1
 * apply to the whole document, as in HEAD), then the first N are kept.
 */
export interface DecodeLimits {
  /** Largest document in UTF-8 bytes; larger → `DECODE_ERROR` before parsing. */
  readonly maxBytes: number
  /** `want.requests` kept (§4.5 step 1). */
  readonly maxWantRequests: number
  /** `messages.messages` kept (§4.6). */
  readonly maxMessagesPerDocument: number
  /** `have.peer_observations` kept (§4.12). */
  readonly maxPeerObservations: number
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxBytes: MAX_GOSSIP_MESSAGE_BYTES,
  maxWantRequests: MAX_WANT_REQUESTS,
  maxMessagesPerDocument: MAX_MESSAGES_PER_DOCUMENT,
  maxPeerObservations: MAX_PEER_OBSERVATIONS,
})
