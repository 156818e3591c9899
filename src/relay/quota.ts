/**
 * Per-feed storage quota of the relay (PROTOCOL.md §9.5): the stored wire-text bytes of each
 * author, read from the database at start and kept current from stored-message events and
 * evictions. A feed at or above `maxFeedBytes` is capped: no longer requested nor stored, until
 * eviction brings it back under the limit.
 */
import type { FeedEngine, IngestResult } from '../feed/index.js'
import type { Logger } from '../log.js'

export interface FeedQuota {
  /** True unless the author's feed is capped (the relay's author filter). */
  passes(author: string): boolean
  /** Account bytes newly stored for `author`. */
  add(author: string, bytes: number): void
  /** Account bytes evicted from `author`'s feed. */
  remove(author: string, bytes: number): void
  /** Stored bytes of one author. */
  bytesOf(author: string): number
  /** Capped authors, sorted (status `capped_feeds`). */
  capped(): string[]
}

export interface FeedQuotaOptions {
  /** Stored bytes per author feed; 0 means unlimited. */
  readonly maxFeedBytes: number
  /** Bytes already stored per author (from the database). */
  readonly initial: ReadonlyMap<string, number>
}

/** Create the quota tracker; logs once when a feed becomes capped and once when it is freed. */
export function createFeedQuota(deps: { log: Logger }, options: FeedQuotaOptions): FeedQuota {
  const { maxFeedBytes } = options
  if (!Number.isSafeInteger(maxFeedBytes) || maxFeedBytes < 0)
    throw new RangeError(`maxFeedBytes: expected an integer >= 0, got ${maxFeedBytes}`)
  const bytes = new Map(options.initial)
  const capped = new Set<string>()

  const update = (author: string): void => {
    const over = maxFeedBytes > 0 && (bytes.get(author) ?? 0) >= maxFeedBytes
    if (over && !capped.has(author)) {
      capped.add(author)
      deps.log.warn(
        { author, bytes: bytes.get(author), maxFeedBytes },
        'feed reached its storage quota: no longer requested or stored (see --max-feed-bytes)',
      )
    } else if (!over && capped.has(author)) {
      capped.delete(author)
      deps.log.info({ author, bytes: bytes.get(author) ?? 0 }, 'feed back under its storage quota')
    }
  }
  for (const author of bytes.keys()) update(author)

  return {
    passes: (author) => !capped.has(author),
    add(author, n) {
      bytes.set(author, (bytes.get(author) ?? 0) + n)
      update(author)
    },
    remove(author, n) {
      const left = Math.max(0, (bytes.get(author) ?? 0) - n)
      if (left === 0) bytes.delete(author)
      else bytes.set(author, left)
      update(author)
    },
    bytesOf: (author) => bytes.get(author) ?? 0,
    capped: () => [...capped].sort(),
  }
}

/** What a dropped over-quota message reports to replication: quiet, like a held message. */
const DROPPED: IngestResult = { status: 'duplicate' }

/**
 * The engine as the relay's gossip sees it: messages of capped authors are dropped before
 * ingest, so a feed that reaches its quota in the middle of an exchange stops growing at the
 * next batch instead of at the next exchange. They are reported as duplicates, so the exchange
 * goes on without an error on the wire (§9.5: nodes see no error) and without a log line per
 * message; the quota's own log line says what happened.
 */
export function gateIngest(engine: FeedEngine, passes: (author: string) => boolean): FeedEngine {
  const ingestMany: FeedEngine['ingestMany'] = async (messages, options) => {
    const mask = messages.map((m) => passes(m.author))
    if (mask.every(Boolean)) return engine.ingestMany(messages, options)
    const results = await engine.ingestMany(
      messages.filter((_, i) => mask[i] === true),
      options,
    )
    let next = 0
    return mask.map((ok) => (ok ? (results[next++] as IngestResult) : DROPPED))
  }
  return {
    identity: engine.identity,
    publish: (content) => engine.publish(content),
    ingestMany,
    ingest: async (message, options) => (await ingestMany([message], options))[0] as IngestResult,
    onMessage: (listener) => engine.onMessage(listener),
    close: () => engine.close(),
  }
}
