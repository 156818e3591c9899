/**
 * The node's persistent push links (PROTOCOL.md §4.7): the registry under peer identity, the
 * fan-out of every newly stored message to every link but its origin (§4.7.3), and recorders
 * that keep what is stored while a connection's pull exchange runs, so it can be pushed once the
 * link starts (nothing falls between the exchange and the link).
 */
import { PUSH_QUEUE_LIMIT } from '../codec/index.js'
import type { FeedEngine, IngestResult, Message } from '../feed/index.js'
import type { Logger } from '../log.js'
import type { SecureConnection } from '../net/index.js'
import { startPushLink, type DocumentChannel, type PushLink } from '../replication/index.js'

/** Messages stored while one connection's pull exchange runs (bounded by the link queue). */
export interface Recorder {
  readonly peerId: string
  readonly texts: string[]
  overflow: boolean
}

export interface PushLinksDeps {
  readonly engine: FeedEngine
  readonly ingest: (messages: readonly Message[], origin: string) => Promise<IngestResult[]>
  /** The follow filter for received pushes. */
  readonly passes: (author: string) => boolean
  /** Sync this address now (a dialled link fell behind or ended). */
  readonly requestSync: (address: string) => void
  readonly log: Logger
}

export interface PushLinks {
  /** Push on, not stopping, no link with `peerId`, and below the cap (checked before answering). */
  canLink(peerId: string): boolean
  /** Start recording for a connection with `peerId` (a no-op recorder when push is off). */
  record(peerId: string): Recorder
  forget(recorder: Recorder): void
  /**
   * Register a link (§4.7.2). `address` is set when we dialled: a link that falls behind or ends
   * then triggers a pull sync at once; without one (we accepted it), a link that falls behind is
   * closed, and the dialling peer re-syncs.
   */
  enter(
    conn: SecureConnection,
    channel: DocumentChannel,
    recorder: Recorder,
    address: string | null,
  ): void
  peers(): string[]
  waitFor(peerId: string): Promise<void>
  /** Goodbye on every link (§4.7.2 item 7); no new links after this. */
  close(): Promise<void>
}

export function createPushLinks(
  deps: PushLinksDeps,
  options: { enabled: boolean; maxLinks: number },
): PushLinks {
  const { log } = deps
  const links = new Map<string, { link: PushLink; conn: SecureConnection }>()
  const waiters = new Map<string, (() => void)[]>()
  const recorders = new Set<Recorder>()
  let closing = false

  // §4.7.3: every newly stored message goes to every link but the one it came from.
  const unsubscribe = options.enabled
    ? deps.engine.onMessage((e) => {
        for (const [peerId, { link }] of links) if (peerId !== e.origin) link.enqueue(e.wireText)
        for (const r of recorders) {
          if (r.peerId === e.origin || r.overflow) continue
          if (r.texts.length >= PUSH_QUEUE_LIMIT) r.overflow = true
          else r.texts.push(e.wireText)
        }
      })
    : () => undefined

  return {
    canLink: (peerId) =>
      options.enabled && !closing && !links.has(peerId) && links.size < options.maxLinks,
    record(peerId) {
      const r: Recorder = { peerId, texts: [], overflow: false }
      if (options.enabled) recorders.add(r)
      return r
    },
    forget: (r) => void recorders.delete(r),
    enter(conn, channel, recorder, address) {
      recorders.delete(recorder)
      conn.setPersistent(true)
      const peerId = conn.remoteId
      const link = startPushLink({
        channel,
        peerId,
        ingest: deps.ingest,
        passes: deps.passes,
        log,
        onBehind: () => {
          if (address === null) conn.destroy(new Error('push link fell behind'))
          else deps.requestSync(address)
        },
      })
      links.set(peerId, { link, conn })
      for (const text of recorder.texts) link.enqueue(text)
      if (recorder.overflow && address !== null) deps.requestSync(address)
      log.info({ peer: peerId, links: links.size }, 'push link established')
      for (const w of waiters.get(peerId) ?? []) w()
      waiters.delete(peerId)
      void link.ended.then(async (err) => {
        if (links.get(peerId)?.link === link) links.delete(peerId)
        log.info(
          { peer: peerId, err: err?.message, ...link.stats },
          closing ? 'push link closed at shutdown' : 'push link ended',
        )
        if (err === null) await conn.close().catch(() => undefined)
        else conn.destroy()
        if (address !== null && !closing) deps.requestSync(address) // costs one round trip
      })
      // The connection may end without a document (socket error): end the link too.
      void conn.closed.then(() => link.stop())
    },
    peers: () => [...links.keys()],
    waitFor: (peerId) =>
      links.has(peerId)
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const list = waiters.get(peerId) ?? []
            list.push(resolve)
            waiters.set(peerId, list)
          }),
    async close() {
      closing = true
      unsubscribe()
      await Promise.all(
        [...links.values()].map(async ({ link, conn }) => {
          link.stop()
          await conn.close().catch(() => undefined)
        }),
      )
    },
  }
}
