/**
 * Server-sent events at `GET /v1/events` (PROTOCOL.md §7.6): one event per stored message with
 * its arrival id, resume with Last-Event-ID from the database, and a bounded live queue per
 * subscriber: on overflow the subscriber gets an `event: lagged` notice (issue #3) and is then
 * served from the database until it catches up, so a slow client never loses an event and never
 * grows the node's memory.
 */
import { Buffer } from 'node:buffer'
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { FeedEngine, MessageEvent } from '../feed/index.js'
import { ApiError, queryInt, queryString, type RawQuery } from '../http/index.js'
import type { Logger } from '../log.js'
import type { MessageStore } from '../store/index.js'
import { requireAuthor } from './service.js'

export interface SseOptions {
  /** Concurrent subscribers (`--max-sse-clients`). */
  readonly maxClients: number
  /** Live events buffered per subscriber before it falls back to the database. */
  readonly queueSize?: number
  /** Comment line after this long without an event. */
  readonly keepAliveMs?: number
  /** Rows per database page while catching up. */
  readonly pageSize?: number
}

/** Shortest time between two socket flushes of one subscriber under load. */
const FLUSH_INTERVAL_MS = 4

interface Filter {
  readonly author?: string
  readonly contentType?: string
}

interface Client {
  readonly res: ServerResponse
  readonly filter: Filter
  lastId: number
  mode: 'catchup' | 'live'
  queue: { event: MessageEvent; bytes: Buffer }[]
  blocked: boolean
  pumping: boolean
  corked: boolean
  lastFlushMs: number
  lastWriteMs: number
}

export interface SseHub {
  register(app: FastifyInstance): void
  clientCount(): number
  /** End every stream (node shutdown). */
  closeAll(): void
}

export function createSseHub(
  deps: { engine: FeedEngine; store: MessageStore; log: Logger },
  options: SseOptions,
): SseHub {
  const { store, log } = deps
  const queueSize = options.queueSize ?? 1024
  const keepAliveMs = options.keepAliveMs ?? 15000
  const pageSize = options.pageSize ?? 256
  const clients = new Set<Client>()

  const matches = (c: Client, author: string, contentType: string): boolean =>
    (c.filter.author === undefined || c.filter.author === author) &&
    (c.filter.contentType === undefined || c.filter.contentType === contentType)

  /** One encoded frame per event, shared by every subscriber it goes to. */
  const frame = (id: number, wireText: string): Buffer =>
    Buffer.from(`id:${id}\ndata:${wireText}\n\n`)

  const write = (c: Client, id: number, bytes: Buffer): void => {
    c.lastId = id
    c.lastWriteMs = Date.now()
    if (!c.corked) {
      // Coalesce writes: at most one flush per FLUSH_INTERVAL_MS per subscriber. An idle stream
      // flushes on the next turn of the event loop (no added delay); a busy one sends every few
      // milliseconds in one syscall instead of one per event, which is what lets one process
      // feed hundreds of subscribers.
      c.corked = true
      c.res.cork()
      const flush = (): void => {
        c.corked = false
        c.lastFlushMs = Date.now()
        c.res.uncork()
      }
      const wait = c.lastFlushMs + FLUSH_INTERVAL_MS - Date.now()
      if (wait <= 0) setImmediate(flush)
      else setTimeout(flush, wait)
    }
    if (!c.res.write(bytes)) c.blocked = true
  }

  const waitDrain = (c: Client): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        c.res.off('drain', done)
        c.res.off('close', done)
        c.blocked = false
        resolve()
      }
      c.res.once('drain', done)
      c.res.once('close', done)
    })

  const pump = async (c: Client): Promise<void> => {
    if (c.pumping) return
    c.pumping = true
    try {
      while (clients.has(c)) {
        if (c.blocked) await waitDrain(c)
        if (c.mode === 'catchup') {
          const rows = store.messagesSince(c.lastId, pageSize, c.filter)
          // The switch to live happens in the same tick as the empty page: anything committed
          // later reaches this client through the live listener.
          if (rows.length === 0) c.mode = 'live'
          for (const row of rows) {
            write(c, row.id, frame(row.id, row.wireText))
            if (c.blocked) break
          }
          continue
        }
        const next = c.queue.shift()
        if (next === undefined) return
        write(c, next.event.id, next.bytes)
      }
    } finally {
      c.pumping = false
    }
  }

  const onEvent = (e: MessageEvent): void => {
    let bytes: Buffer | undefined
    for (const c of clients) {
      if (c.mode !== 'live' || e.id <= c.lastId || !matches(c, e.author, e.contentType)) continue
      bytes ??= frame(e.id, e.wireText)
      if (!c.blocked && !c.pumping && c.queue.length === 0) {
        write(c, e.id, bytes) // fast path: nothing queued, socket writable
        continue
      }
      c.queue.push({ event: e, bytes })
      if (c.queue.length > queueSize) {
        // Too far behind: drop the queue and serve from the database from the last id sent.
        // The client is told (`event: lagged`) but loses nothing: catching up is automatic.
        c.queue = []
        c.mode = 'catchup'
        c.res.write(`event:lagged\ndata:{"last_event_id":${c.lastId}}\n\n`)
        log.debug({ lastId: c.lastId }, 'sse subscriber lagged; catching up from the database')
      }
      void pump(c)
    }
  }
  let unsubscribe: (() => void) | null = null

  const keepAlive = setInterval(
    () => {
      const now = Date.now()
      for (const c of clients) {
        if (!c.blocked && now - c.lastWriteMs >= keepAliveMs) {
          c.lastWriteMs = now
          c.res.write(':\n\n')
        }
      }
    },
    Math.max(50, Math.floor(keepAliveMs / 3)),
  )
  keepAlive.unref()

  const open = (request: FastifyRequest, res: ServerResponse): void => {
    const q = request.query as RawQuery
    const author = queryString(q, 'author')
    const contentType = queryString(q, 'content_type')
    const filter: Filter = {
      ...(author === undefined ? {} : { author: requireAuthor(author) }),
      ...(contentType === undefined ? {} : { contentType }),
    }
    const header = request.headers['last-event-id']
    const fromHeader =
      typeof header === 'string' && /^\d{1,15}$/.test(header.trim())
        ? Number(header.trim())
        : undefined
    const resumeFrom = fromHeader ?? queryInt(q, 'last_event_id')
    if (clients.size >= options.maxClients) {
      throw new ApiError(
        'TOO_MANY_SUBSCRIBERS',
        `too many event subscribers (max ${options.maxClients})`,
      )
    }
    const c: Client = {
      res,
      filter,
      lastId: resumeFrom ?? store.lastMessageId(),
      mode: resumeFrom === undefined ? 'live' : 'catchup',
      queue: [],
      blocked: false,
      pumping: false,
      corked: false,
      lastFlushMs: 0,
      lastWriteMs: Date.now(),
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.socket?.setNoDelay(true) // events are small and latency matters: no Nagle delay
    res.write(':\n\n') // sends the headers now, so clients know they are subscribed
    clients.add(c)
    unsubscribe ??= deps.engine.onMessage(onEvent)
    res.on('close', () => clients.delete(c))
    if (c.mode === 'catchup') void pump(c)
  }

  return {
    register(app) {
      // HEAD answers the stream's headers at once; fastify's automatic HEAD would run the GET
      // handler and hold a subscriber slot without ever answering.
      app.head('/v1/events', (_request, reply) =>
        reply
          .code(200)
          .header('content-type', 'text/event-stream')
          .header('cache-control', 'no-cache')
          .send(),
      )
      app.get('/v1/events', { exposeHeadRoute: false }, (request, reply) => {
        open(request, reply.raw)
        reply.hijack()
      })
    },
    clientCount: () => clients.size,
    closeAll() {
      clearInterval(keepAlive)
      for (const c of clients) c.res.end()
      clients.clear()
      unsubscribe?.()
      unsubscribe = null
    },
  }
}
