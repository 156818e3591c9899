/**
 * Ingest validation (PROTOCOL.md §5): the ordered checks, `chain_valid`, and the typed outcome.
 * Checks that need no database run first (`precheck`); signatures are verified in a batch by the
 * engine; the chain checks and the write run inside one transaction (`decideAndStore`).
 */
import { MAX_CONTENT_BYTES, MAX_SEQUENCE, type Timestamp } from '../codec/index.js'
import { isValidFeedIdKey, sha256Hex, type VerifyItem } from '../crypto/index.js'
import type { FeedStore, MessageRecord } from './feed-store.js'
import { canonicalize, contentTypeOf, searchTextOf, toWireText, type Message } from './message.js'
import { toVerifyItem } from './sign.js'

/** Why a message was rejected (§5.1). */
export type RejectReason =
  | 'bad_structure'
  | 'too_large'
  | 'bad_author'
  | 'bad_signature'
  | 'bad_hash'
  | 'fork'
  | 'forward_fork'
  | 'backward_fork'

/** The outcome of ingesting one message. */
export type IngestResult =
  | { readonly status: 'stored'; readonly chainValid: boolean; readonly id: number }
  | { readonly status: 'duplicate' }
  | { readonly status: 'rejected'; readonly reason: RejectReason; readonly detail: string }

/** The fields of a message that the decision and the stored record need (no content). */
export type MessageHeader = Pick<
  Message,
  'author' | 'sequence' | 'previous' | 'timestamp' | 'hash' | 'signature'
>

/** What a stored record is built from: the header, canonical text and what content yields. */
export interface RecordSource {
  readonly message: MessageHeader
  readonly canonicalText: string
  readonly contentType: string
  readonly searchText: string
}

/**
 * A message that passed the database-free checks, waiting for its signature verdict. It keeps
 * the header and what the record needs, not the parsed content: batches wait here for their
 * verdicts and commit, and a parsed content tree held that long is GC work for nothing.
 */
export interface Candidate extends RecordSource {
  readonly computedHash: string
  /** `null` when the signature or author cannot even be decoded (→ bad_signature / bad_author). */
  readonly verifyItem: VerifyItem | null
  readonly badAuthor: boolean
}

const reject = (reason: RejectReason, detail: string): IngestResult => ({
  status: 'rejected',
  reason,
  detail,
})
const DUPLICATE: IngestResult = { status: 'duplicate' }

/** What the batch pre-check found held: hash → where it is held. */
export type HeldHashes = ReadonlyMap<string, { readonly author: string; readonly sequence: number }>

/**
 * Steps 1–5 of §5.2 plus decoding for step 6: returns a final result, or a candidate that
 * still needs its signature verified and its chain checked. `held` comes from one
 * `store.heldByHash` query for the whole batch.
 */
export function precheck(store: FeedStore, m: Message, held: HeldHashes): IngestResult | Candidate {
  if (m.sequence < 1) return reject('bad_structure', 'sequence must be >= 1')
  if (m.sequence > MAX_SEQUENCE) return reject('bad_structure', 'sequence out of range')
  const canonical = canonicalize(m)
  if (canonical.contentBytes > MAX_CONTENT_BYTES) {
    return reject(
      'too_large',
      `content too large: ${canonical.contentBytes} bytes (max ${MAX_CONTENT_BYTES})`,
    )
  }
  if (m.sequence <= store.floorOf(m.author).sequence) return DUPLICATE
  const at = held.get(m.hash)
  if (at !== undefined && at.author === m.author && at.sequence === m.sequence) return DUPLICATE
  const badAuthor = !isValidFeedIdKey(m.author)
  return {
    message: headerOf(m),
    canonicalText: canonical.text,
    ...describeContent(m.content),
    computedHash: sha256Hex(canonical.text),
    verifyItem: badAuthor ? null : toVerifyItem(m),
    badAuthor,
  }
}

function headerOf(m: Message): MessageHeader {
  const { author, sequence, previous, timestamp, hash, signature } = m
  return { author, sequence, previous, timestamp, hash, signature }
}

/** What the stored record takes from content: its type and its searchable text (§6.3). */
export function describeContent(content: Message['content']): {
  contentType: string
  searchText: string
} {
  return { contentType: contentTypeOf(content), searchText: searchTextOf(content) }
}

/** Hooks the decision step calls: fork evidence and the receipt clock. */
export interface DecideContext {
  readonly nowMs: number
  readonly onFork?: (detail: string) => void
}

/**
 * Steps 4–12 of §5.2 for a candidate whose signature verdict is known, then the write of §5.4.
 * Must run inside `store.transaction`. State is re-read here because other writes may have
 * landed since `precheck` (including earlier messages of the same batch).
 */
export function decideAndStore(
  store: FeedStore,
  c: Candidate,
  signatureValid: boolean,
  ctx: DecideContext,
): { result: IngestResult; record?: MessageRecord } {
  const m = c.message
  const floor = store.floorOf(m.author)
  if (m.sequence <= floor.sequence) return { result: DUPLICATE }
  const near = store.neighbours(m.author, m.sequence)
  if (near.at !== undefined && near.at.hash === m.hash) return { result: DUPLICATE }
  if (c.badAuthor) return { result: reject('bad_author', 'invalid author public key') }
  if (c.verifyItem === null)
    return { result: reject('bad_signature', 'invalid signature encoding') }
  if (!signatureValid) return { result: reject('bad_signature', 'signature verification failed') }
  if (c.computedHash !== m.hash) {
    return {
      result: reject('bad_hash', `hash mismatch: computed=${c.computedHash}, claimed=${m.hash}`),
    }
  }
  if (near.at !== undefined) {
    const detail = `conflicting message at sequence ${m.sequence}: held ${near.at.hash}, received ${m.hash}`
    store.recordFork({
      author: m.author,
      sequence: m.sequence,
      heldHash: near.at.hash,
      receivedHash: m.hash,
      wireText: wireOf(c),
      detectedAtMs: ctx.nowMs,
    })
    ctx.onFork?.(`${m.author}: ${detail}`)
    return { result: reject('fork', detail) }
  }
  if (m.sequence === 1 && m.previous !== null) {
    return { result: reject('bad_structure', 'first message must have no previous hash') }
  }
  if (m.sequence > 1 && m.previous === null) {
    return {
      result: reject(
        'bad_structure',
        `message at sequence ${m.sequence} must reference previous hash`,
      ),
    }
  }
  const atFloor = floor.sequence > 0 && m.sequence === floor.sequence + 1
  const predecessorHash = atFloor ? floor.hash : near.before?.hash
  if (predecessorHash !== undefined && predecessorHash !== null && predecessorHash !== m.previous) {
    return { result: reject('forward_fork', `previous hash mismatch at sequence ${m.sequence}`) }
  }
  if (near.after !== undefined && near.after.previous !== m.hash) {
    return { result: reject('backward_fork', `backward chain mismatch at sequence ${m.sequence}`) }
  }
  const chainValid = m.sequence === floor.sequence + 1 || near.before?.chainValid === true
  const record = toRecord(c, chainValid, ctx.nowMs)
  const id = store.insertMessage(record, { successorHeld: near.after !== undefined })
  return { result: { status: 'stored', chainValid, id }, record }
}

function wireOf(c: { readonly message: MessageHeader; readonly canonicalText: string }): string {
  return toWireText(c.canonicalText, c.message.hash, c.message.signature)
}

/** The storage record of a message whose canonical text is known. */
export function toRecord(c: RecordSource, chainValid: boolean, nowMs: number): MessageRecord {
  const m = c.message
  return {
    author: m.author,
    sequence: m.sequence,
    previous: m.previous,
    hash: m.hash,
    timestamp: m.timestamp satisfies Timestamp,
    contentType: c.contentType,
    searchText: c.searchText,
    wireText: wireOf(c),
    chainValid,
    receivedAtMs: nowMs,
  }
}
