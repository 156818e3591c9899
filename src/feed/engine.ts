/**
 * The feed engine: publish to our own feed and ingest others' messages (PROTOCOL.md §5), with
 * an event per stored message. Concurrent publishes are grouped into one transaction; ingest
 * verifies signatures in batches off the main thread and commits in arrival order.
 */
import {
  MAX_CONTENT_BYTES,
  MAX_INGEST_BATCH,
  MAX_PUBLISH_GROUP,
  timestampFromMillis,
  utf8Length,
  writeCanonical,
  type JsonValue,
} from '../codec/index.js'
import type { Identity, SignatureVerifier } from '../crypto/index.js'
import { EgregoreError } from '../errors.js'
import { silentLogger, type Logger } from '../log.js'
import { checkPublishableContent, floatInteropWarnings } from './content-rules.js'
import type { FeedStore, HeldHead, MessageRecord } from './feed-store.js'
import {
  decideAndStore,
  describeContent,
  precheck,
  toRecord,
  type Candidate,
  type IngestResult,
} from './ingest.js'
import type { Message } from './message.js'
import { signMessage } from './sign.js'

/** Emitted after commit for every stored message, own and ingested (§5.4). */
export interface MessageEvent {
  /** Local arrival sequence (SSE `id:`). */
  readonly id: number
  readonly author: string
  readonly sequence: number
  readonly hash: string
  readonly contentType: string
  readonly wireText: string
  readonly chainValid: boolean
  /** `null` for our own publishes; otherwise the origin given to ingest (e.g. a peer id). */
  readonly origin: string | null
}

/** The result of a publish. */
export interface PublishResult {
  readonly message: Message
  readonly wireText: string
  readonly id: number
  /** Interop warnings (§1.4.4); empty when none. */
  readonly warnings: readonly string[]
}

/** Options for one ingest call. */
export interface IngestOptions {
  /** Where the messages came from; carried on events so push never echoes to the source. */
  readonly origin?: string
}

export type MessageListener = (event: MessageEvent) => void

export interface FeedEngine {
  readonly identity: Identity
  /** Append content to our feed; resolves once the message is committed (durable). */
  publish(content: JsonValue): Promise<PublishResult>
  /** Ingest one received message. */
  ingest(message: Message, options?: IngestOptions): Promise<IngestResult>
  /** Ingest many received messages; results are in input order. */
  ingestMany(messages: readonly Message[], options?: IngestOptions): Promise<IngestResult[]>
  /** Subscribe to stored-message events; returns an unsubscribe function. */
  onMessage(listener: MessageListener): () => void
  /** Finish in-flight writes, then refuse new ones. Idempotent. */
  close(): Promise<void>
}

export interface FeedEngineDeps {
  readonly store: FeedStore
  readonly identity: Identity
  readonly verifier: SignatureVerifier
  readonly clock?: { now(): number }
  readonly log?: Logger
}

export interface FeedEngineOptions {
  /** Most publishes committed in one transaction. */
  readonly maxPublishGroup?: number
  /** Most messages per ingest transaction. */
  readonly maxIngestBatch?: number
}

interface PendingPublish {
  readonly content: JsonValue
  /** writeCanonical(content), computed once for the size check and reused for the hash. */
  readonly contentText: string
  readonly warnings: string[]
  readonly resolve: (r: PublishResult) => void
  readonly reject: (e: unknown) => void
}

/** Create a feed engine over a store. */
export function createFeedEngine(
  deps: FeedEngineDeps,
  options: FeedEngineOptions = {},
): FeedEngine {
  const { store, identity, verifier } = deps
  const clock = deps.clock ?? Date
  const log = deps.log ?? silentLogger
  const maxGroup = options.maxPublishGroup ?? MAX_PUBLISH_GROUP
  const maxBatch = options.maxIngestBatch ?? MAX_INGEST_BATCH
  const listeners = new Set<MessageListener>()
  const queue: PendingPublish[] = []
  let flushScheduled = false
  let writeChain: Promise<unknown> = Promise.resolve()
  let inFlight = 0
  let closed = false
  let idle: (() => void) | null = null
  let closing: Promise<void> | undefined

  const emit = (record: MessageRecord, id: number, origin: string | null): void => {
    const event: MessageEvent = {
      id,
      author: record.author,
      sequence: record.sequence,
      hash: record.hash,
      contentType: record.contentType,
      wireText: record.wireText,
      chainValid: record.chainValid,
      origin,
    }
    for (const listener of listeners) {
      try {
        listener(event)
      } catch (err) {
        log.error({ err }, 'message listener threw; continuing')
      }
    }
  }

  const track = async <T>(work: Promise<T>): Promise<T> => {
    inFlight++
    try {
      return await work
    } finally {
      inFlight--
      if (inFlight === 0 && idle !== null) idle()
    }
  }

  const appendOwn = (
    p: PendingPublish,
    head: HeldHead | undefined,
    nowMs: number,
  ): { record: MessageRecord; message: Message; id: number } => {
    const sequence = (head?.sequence ?? 0) + 1
    const signed = signMessage(
      {
        author: identity.id,
        sequence,
        previous: head?.hash ?? null,
        timestamp: timestampFromMillis(nowMs),
        content: p.content,
      },
      identity,
      p.contentText,
    )
    const chainValid = sequence === 1 || head?.chainValid === true
    const record = toRecord(
      { ...signed, ...describeContent(signed.message.content) },
      chainValid,
      nowMs,
    )
    return {
      record,
      message: signed.message,
      id: store.insertMessage(record, { successorHeld: false }),
    }
  }

  const flushPublishes = (): void => {
    flushScheduled = false
    const group = queue.splice(0, maxGroup)
    if (queue.length > 0) scheduleFlush()
    let stored: { record: MessageRecord; message: Message; id: number }[]
    try {
      const nowMs = clock.now()
      stored = store.transaction(() => {
        // The head is read once per group; each message then becomes the next one's head.
        let head = store.headOf(identity.id)
        return group.map((p) => {
          const s = appendOwn(p, head, nowMs)
          head = {
            sequence: s.message.sequence,
            hash: s.message.hash,
            chainValid: s.record.chainValid,
          }
          return s
        })
      })
    } catch (err) {
      const wrapped = new EgregoreError(
        'STORE_ERROR',
        'publish failed: could not write to the database',
        { cause: err },
      )
      for (const p of group) p.reject(wrapped)
      return
    }
    stored.forEach((s, i) => {
      const p = group[i] as PendingPublish
      p.resolve({ message: s.message, wireText: s.record.wireText, id: s.id, warnings: p.warnings })
      emit(s.record, s.id, null)
    })
  }

  const scheduleFlush = (): void => {
    if (flushScheduled) return
    flushScheduled = true
    // setImmediate lets every publish issued in this turn of the event loop join the group.
    setImmediate(flushPublishes)
  }

  /**
   * Prechecks run now; the rest waits for verdicts and the write queue without holding
   * `messages` (a suspended async function keeps its arguments alive, and with them every
   * parsed content tree of the batch).
   */
  const ingestChunk = (
    messages: readonly Message[],
    origin: string | null,
  ): Promise<IngestResult[]> => {
    const results: (IngestResult | undefined)[] = new Array<IngestResult | undefined>(
      messages.length,
    )
    const candidates: { index: number; candidate: Candidate }[] = []
    try {
      const held = store.heldByHash(messages)
      messages.forEach((m, index) => {
        const r = precheck(store, m, held)
        if ('status' in r) results[index] = r
        else candidates.push({ index, candidate: r })
      })
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    return verifyAndCommit(results, candidates, origin)
  }

  const verifyAndCommit = async (
    results: (IngestResult | undefined)[],
    candidates: readonly { index: number; candidate: Candidate }[],
    origin: string | null,
  ): Promise<IngestResult[]> => {
    const jobs = candidates.flatMap((c) =>
      c.candidate.verifyItem === null ? [] : [c.candidate.verifyItem],
    )
    const verifying = jobs.length > 0 ? verifier.verifyMany(jobs) : Promise.resolve([])
    // The commit takes its place in the write queue now, at call time, so batches commit in the
    // order they were given even when a later one verifies faster (inline, or on another thread).
    const commit = (verdicts: readonly boolean[]): void => {
      const nowMs = clock.now()
      const stored: { record: MessageRecord; id: number }[] = []
      store.transaction(() => {
        let v = 0
        for (const { index, candidate } of candidates) {
          const valid = candidate.verifyItem === null ? false : (verdicts[v++] as boolean)
          const { result, record } = decideAndStore(store, candidate, valid, {
            nowMs,
            onFork: (detail) => log.warn({ origin }, `fork detected: ${detail}`),
          })
          results[index] = result
          if (record !== undefined && result.status === 'stored')
            stored.push({ record, id: result.id })
        }
      })
      for (const s of stored) emit(s.record, s.id, origin)
    }
    const run = writeChain.then(async () => {
      commit(await verifying)
    })
    writeChain = run.catch(() => undefined)
    try {
      await run
    } catch (err) {
      throw new EgregoreError('STORE_ERROR', 'ingest failed: could not write to the database', {
        cause: err,
      })
    }
    return results as IngestResult[]
  }

  const ensureOpen = (): void => {
    if (closed) throw new EgregoreError('CLOSED', 'the feed engine is closed')
  }

  return {
    identity,
    publish(content) {
      let contentText: string
      try {
        ensureOpen()
        checkPublishableContent(content)
        contentText = writeCanonical(content)
        const bytes = utf8Length(contentText)
        if (bytes > MAX_CONTENT_BYTES) {
          throw new EgregoreError(
            'FEED_INTEGRITY',
            `feed integrity violation: content too large: ${bytes} bytes (max ${MAX_CONTENT_BYTES})`,
          )
        }
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)))
      }
      const warnings = floatInteropWarnings(content)
      for (const w of warnings) log.warn({}, w)
      return track(
        new Promise<PublishResult>((resolve, reject) => {
          queue.push({ content, contentText, warnings, resolve, reject })
          scheduleFlush()
        }),
      )
    },
    async ingest(message, opts) {
      const [result] = await this.ingestMany([message], opts)
      return result as IngestResult
    },
    ingestMany(messages, opts = {}) {
      if (closed) return Promise.reject(new EgregoreError('CLOSED', 'the feed engine is closed'))
      const origin = opts.origin ?? null
      const chunks: Promise<IngestResult[]>[] = []
      for (let i = 0; i < messages.length; i += maxBatch) {
        chunks.push(ingestChunk(messages.slice(i, i + maxBatch), origin))
      }
      return track(Promise.all(chunks).then((parts) => parts.flat()))
    },
    onMessage(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      closing ??= (async () => {
        closed = true
        if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve))
        listeners.clear()
      })()
      return closing
    },
  }
}
