/**
 * One persistent push link (PROTOCOL.md §4.7.2–4.7.4) over an abstract document channel: a bounded
 * outbound queue drained with socket backpressure, keepalives, the credit gate for peers that ask
 * for it, and the receive loop that hands pushed messages to ingest in small batches. Knows no
 * sockets and no registry; node/ owns both.
 */
import {
  MAX_PUSH_CREDITS,
  PUSH_CREDIT_GRANT_MAX,
  PUSH_CREDIT_LOW_WATER,
  PUSH_CREDIT_REQUEST,
  PUSH_INGEST_BATCH,
  PUSH_KEEPALIVE_MS,
  PUSH_QUEUE_LIMIT,
} from '../codec/index.js'
import type { IngestResult, Message } from '../feed/index.js'
import type { Logger } from '../log.js'
import type { DocumentChannel } from './pull-session.js'

export interface PushLinkDeps {
  readonly channel: DocumentChannel
  readonly peerId: string
  /** Ingest pushed messages (origin = the peer, so they are never pushed back to it). */
  readonly ingest: (messages: readonly Message[], origin: string) => Promise<IngestResult[]>
  /** The follow filter (§4.9), asked for each received push; must fail closed. */
  readonly passes: (author: string) => boolean
  /** The link fell behind (queue full): schedule a catch-up pull, or close it (a relay). */
  readonly onBehind: () => void
  readonly log: Logger
  readonly queueLimit?: number
  readonly keepaliveMs?: number
}

export interface PushLinkStats {
  pushed: number
  dropped: number
  received: number
  stored: number
}

export interface PushLink {
  readonly peerId: string
  /** Queue a newly stored message for the peer; false when dropped (queue full or gate shut). */
  enqueue(wireText: string): boolean
  /** Resolves when the link has ended (peer goodbye/EOF, error, or `stop`). */
  readonly ended: Promise<Error | null>
  readonly stats: PushLinkStats
  /** Stop sending and receiving; the owner closes the connection. */
  stop(): void
}

/** Run a link: sends `flow_control_ack` at once, then serves both directions until it ends. */
export function startPushLink(deps: PushLinkDeps): PushLink {
  const { channel, peerId, log } = deps
  const queueLimit = deps.queueLimit ?? PUSH_QUEUE_LIMIT
  const keepaliveMs = deps.keepaliveMs ?? PUSH_KEEPALIVE_MS
  const stats: PushLinkStats = { pushed: 0, dropped: 0, received: 0, stored: 0 }
  /** Wire texts to push; `null` stands for a `credit_request`, sent in order with the pushes. */
  let queue: (string | null)[] = []
  let pumping = false
  let stopped = false
  let peerUsesCredits = false
  let credits = 0
  let creditRequested = false
  let behindReported = false
  let lastWriteAt = Date.now()
  let resolveEnded: (err: Error | null) => void = () => undefined
  const ended = new Promise<Error | null>((r) => (resolveEnded = r))

  const end = (err: Error | null): void => {
    if (stopped) return
    stopped = true
    queue = []
    clearInterval(keepalive)
    resolveEnded(err)
  }

  const write = (doc: Parameters<DocumentChannel['send']>[0]): Promise<void> => {
    lastWriteAt = Date.now()
    return channel.send(doc)
  }

  const pump = async (): Promise<void> => {
    pumping = true
    try {
      while (!stopped && queue.length > 0) {
        const batch = queue
        queue = []
        for (const wireText of batch) {
          if (stopped) return
          if (wireText === null) {
            await write({ type: 'credit_request', suggested: PUSH_CREDIT_REQUEST })
            continue
          }
          await write({ type: 'push', message: { wireText } })
          stats.pushed++
        }
      }
      behindReported = false
    } catch (err) {
      end(err as Error) // a write error ends the link (§4.7.2 item 6)
    } finally {
      pumping = false
    }
  }

  const drop = (): false => {
    stats.dropped++
    if (!behindReported) {
      behindReported = true
      log.info({ peer: peerId, queued: queue.length }, 'push link fell behind; dropping pushes')
      deps.onBehind()
    }
    return false
  }

  const enqueue = (wireText: string): boolean => {
    if (stopped) return false
    if (queue.length >= queueLimit) return drop()
    if (peerUsesCredits) {
      if (credits <= 0) return drop()
      credits--
      if (credits < PUSH_CREDIT_LOW_WATER && !creditRequested) {
        creditRequested = true
        queue.push(null)
      }
    }
    queue.push(wireText)
    if (!pumping) void pump()
    return true
  }

  const keepalive = setInterval(
    () => {
      if (stopped || pumping || Date.now() - lastWriteAt < keepaliveMs) return
      write({ type: 'credit_grant', amount: 0 }).catch((err: unknown) => end(err as Error))
    },
    Math.max(10, Math.floor(keepaliveMs / 4)),
  )
  keepalive.unref()

  // Received pushes are ingested in batches: one in flight, the next accumulating meanwhile.
  const pending: Message[] = []
  let ingesting: Promise<void> | null = null
  const ingestPending = (): void => {
    if (ingesting !== null || pending.length === 0) return
    const batch = pending.splice(0, PUSH_INGEST_BATCH)
    ingesting = deps
      .ingest(batch, peerId)
      .then((results) => {
        for (const r of results) {
          if (r.status === 'stored') stats.stored++
          else if (r.status === 'rejected')
            log.info({ peer: peerId, reason: r.reason }, `rejected pushed message: ${r.detail}`)
        }
      })
      .catch((err: unknown) => log.warn({ peer: peerId, err: String(err) }, 'push ingest failed'))
      .finally(() => {
        ingesting = null
        ingestPending()
      })
  }

  const receiveLoop = async (): Promise<void> => {
    while (!stopped) {
      const doc = await channel.receive()
      if (doc === null) return end(null)
      switch (doc.type) {
        case 'push':
          stats.received++
          if (!deps.passes(doc.message.message.author)) break
          pending.push(doc.message.message)
          ingestPending()
          // A fast pusher waits for ingest rather than growing our memory.
          while (pending.length >= PUSH_INGEST_BATCH * 4 && ingesting !== null) await ingesting
          break
        case 'credit_grant':
          credits = Math.min(credits + doc.amount, MAX_PUSH_CREDITS)
          if (credits >= PUSH_CREDIT_LOW_WATER) creditRequested = false
          break
        case 'credit_request':
          await write({
            type: 'credit_grant',
            amount: Math.min(doc.suggested, PUSH_CREDIT_GRANT_MAX),
          })
          break
        case 'flow_control_ack':
          peerUsesCredits = doc.supported
          if (doc.supported) credits = Math.min(doc.initialCredits, MAX_PUSH_CREDITS)
          break
        case 'have':
        case 'want':
        case 'messages':
        case 'done':
        case 'subscribe':
        case 'subscribeack':
          log.debug({ peer: peerId, type: doc.type }, 'ignoring a document on a push link')
      }
    }
  }

  write({ type: 'flow_control_ack', supported: false, initialCredits: 0 }).catch((err: unknown) =>
    end(err as Error),
  )
  receiveLoop().then(
    () => undefined,
    (err: unknown) => {
      log.info({ peer: peerId, err: (err as Error).message }, 'push link failed')
      end(err as Error)
    },
  )

  return {
    peerId,
    enqueue,
    ended: ended.then(async (err) => {
      await ingesting
      return err
    }),
    stats,
    stop: () => end(null),
  }
}
