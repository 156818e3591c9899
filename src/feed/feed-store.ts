/**
 * The storage interface the feed engine and replication need (STYLE.md §2: interfaces live with
 * their consumer). src/store implements it on SQLite. All methods are synchronous; a
 * `transaction` runs its callback atomically.
 */
import type { Timestamp } from '../codec/index.js'

/** The highest held message of a feed. */
export interface HeldHead {
  readonly sequence: number
  readonly hash: string
  readonly chainValid: boolean
}

/** What ingest needs to know about a held message. */
export interface HeldMessage {
  readonly sequence: number
  readonly hash: string
  readonly previous: string | null
  readonly chainValid: boolean
}

/** The held neighbourhood of `(author, sequence)`: the messages at sequence − 1, sequence, + 1. */
export interface Neighbours {
  readonly before?: HeldMessage
  readonly at?: HeldMessage
  readonly after?: HeldMessage
}

/** A feed's eviction floor (relay only, PROTOCOL.md §9.6); `{ sequence: 0, hash: null }` on a node. */
export interface FeedFloor {
  readonly sequence: number
  readonly hash: string | null
}

/** A verified message ready to be written (§5.4). */
export interface MessageRecord {
  readonly author: string
  readonly sequence: number
  readonly previous: string | null
  readonly hash: string
  readonly timestamp: Timestamp
  readonly contentType: string
  readonly searchText: string
  readonly wireText: string
  readonly chainValid: boolean
  readonly receivedAtMs: number
}

/** A stored message as reads return it. `id` is the local arrival sequence (§6.2). */
export interface StoredMessage {
  readonly id: number
  readonly author: string
  readonly sequence: number
  readonly hash: string
  readonly timestamp: string
  readonly contentType: string
  readonly wireText: string
  readonly chainValid: boolean
  readonly receivedAtMs: number
}

/** Evidence of equivocation: a validly signed message conflicting with a held one (§5.2 step 8). */
export interface ForkEvidence {
  readonly author: string
  readonly sequence: number
  readonly heldHash: string
  readonly receivedHash: string
  readonly wireText: string
  readonly detectedAtMs: number
}

/** One feed's summary: highest held sequence and the end of its unbroken prefix. */
export interface FeedSummary {
  readonly author: string
  readonly latestSequence: number
  readonly contiguousSequence: number
}

/** Storage used by the feed engine (writes) and by replication (reads). */
export interface FeedStore {
  /** Run `fn` in one write transaction; an exception rolls everything back. */
  transaction<T>(fn: () => T): T
  /** Held messages at sequence − 1, sequence and sequence + 1 of an author. */
  neighbours(author: string, sequence: number): Neighbours
  /**
   * Which of these messages' hashes are held, each mapped to its `author` and `sequence` (few
   * queries for a whole batch; ingest's duplicate pre-check). A message above its author's
   * highest held sequence is known not to be held without looking up its hash.
   */
  heldByHash(
    messages: readonly { readonly hash: string; readonly author: string; readonly sequence: number }[],
  ): Map<string, { readonly author: string; readonly sequence: number }>
  /** The author's eviction floor. */
  floorOf(author: string): FeedFloor
  /** Highest held message of an author, if any. */
  headOf(author: string): HeldHead | undefined
  /**
   * Store one message (§5.4): insert, index, promote successors when `chainValid`, update the
   * feed row. Returns the arrival id. Must run inside `transaction`. `successorHeld: false`
   * (known from `neighbours`) lets the store skip the promotion walk.
   */
  insertMessage(record: MessageRecord, hint?: { readonly successorHeld: boolean }): number
  /** Record fork evidence (idempotent). */
  recordFork(evidence: ForkEvidence): void
  /** Every feed with its latest and contiguous sequence. */
  feedSummaries(): FeedSummary[]
  /** Contiguous sequence of an author (0 when none; at least the floor). */
  contiguousSequence(author: string): number
  /** The author's messages with sequence > `afterSequence`, ascending, at most `limit`. */
  messagesAfter(author: string, afterSequence: number, limit: number): StoredMessage[]
}
