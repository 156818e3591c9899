/**
 * Gossip for the node (PROTOCOL.md §4.3, §4.10, §4.11): the server that answers pull exchanges,
 * and the sync loop that dials peers concurrently with backoff and immediate catch-up. Wires the
 * secure transport (net/) to the pull session (replication/). Live push (§4.7) is not built yet:
 * both roles negotiate pull-only.
 */
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  CONNECT_TIMEOUT_MS,
  MAX_CATCH_UP_ROUNDS,
  MAX_CONCURRENT_SYNCS,
  OUTGOING_SYNC_BUDGET_MS,
  MAX_PEER_OBSERVATIONS,
  OBSERVATION_MAX_AGE_MS,
  SUBSCRIBE_WAIT_MS,
  isFeedId,
  parseTimestamp,
  timestampFromMillis,
  timestampToMillis,
  toSortableTimestamp,
} from '../codec/index.js'
import { DEFAULT_NETWORK_KEY, deriveNetworkKey, type Identity } from '../crypto/index.js'
import type { FeedEngine } from '../feed/index.js'
import type { Logger } from '../log.js'
import { dialSecure, listenSecure, type SecureConnection, type SecureServer } from '../net/index.js'
import {
  encodeGossipMessage,
  parseGossipMessage,
  runPullClient,
  runPullServer,
  type DocumentChannel,
  type PullDeps,
} from '../replication/index.js'
import type { MessageStore, StateStore } from '../store/index.js'

export interface GossipConfig {
  readonly bind: string
  readonly port: number
  readonly networkKey: string
  /** `--peer` addresses. */
  readonly peers: readonly string[]
  readonly intervalSecs: number
  /** Do not run the sync loop; cycles run only through `syncOnce` (tests). */
  readonly manualSync?: boolean
}

export interface GossipDeps {
  readonly identity: Identity
  readonly engine: FeedEngine
  readonly store: MessageStore
  readonly state: StateStore
  readonly log: Logger
  readonly clock: { now(): number }
  readonly random?: () => number
  /** Our generation counter for this run (§4.12). */
  readonly generation: number
}

export interface Gossip {
  start(): Promise<void>
  stop(): Promise<void>
  /** The bound gossip port. */
  port(): number
  /** Run one sync cycle now (tests; the loop runs them on its own). */
  syncOnce(): Promise<void>
}

/** A document channel over a secure connection: the real codec on every message. */
export function documentChannel(conn: SecureConnection): DocumentChannel {
  return {
    send: (doc) => conn.send(encodeGossipMessage(doc)),
    async receive() {
      const bytes = await conn.receive()
      return bytes === null ? null : parseGossipMessage(bytes)
    },
  }
}

/** Split `host:port` at the last colon; brackets around IPv6 hosts are removed. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':')
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(address.slice(colon + 1)) }
}

export function createGossip(deps: GossipDeps, config: GossipConfig): Gossip {
  const { identity, state, log } = deps
  const random = deps.random ?? Math.random
  const networkKey = deriveNetworkKey(config.networkKey)
  const backoff = new Map<string, { failures: number; until: number }>()
  let server: SecureServer | null = null
  let timer: NodeJS.Timeout | null = null
  let stopped = false
  let cycle: Promise<void> | null = null
  const abort = new AbortController()

  const followFilter = (): ((author: string) => boolean) => {
    try {
      const follows = new Set(state.listFollows())
      return follows.size === 0 ? () => true : (a) => follows.has(a) || a === identity.id
    } catch (err) {
      log.error({ err }, 'cannot read follows: replicating only our own feed (fail closed)')
      return (a) => a === identity.id
    }
  }
  const observations: NonNullable<PullDeps['observations']> = {
    ours: () =>
      state.listDirectObservations(MAX_PEER_OBSERVATIONS).map((r) => ({
        peerId: r.peerId,
        lastSeenAt: parseTimestamp(r.lastSeenAt),
        lastSeq: r.lastSeq,
        generation: r.generation,
      })),
    merge(reporter, reported) {
      // §4.12: first 500, future times clamped to now, older than 72 h dropped, none about us.
      const nowMs = deps.clock.now()
      const now = toSortableTimestamp(timestampFromMillis(nowMs))
      for (const o of reported.slice(0, MAX_PEER_OBSERVATIONS)) {
        if (o.peerId === identity.id || !isFeedId(o.peerId)) continue
        const seenMs = timestampToMillis(o.lastSeenAt)
        if (nowMs - seenMs > OBSERVATION_MAX_AGE_MS) continue
        const lastSeenAt = seenMs > nowMs ? now : toSortableTimestamp(o.lastSeenAt)
        state.recordReportedObservation(
          {
            peerId: o.peerId,
            lastSeenAt,
            lastSeenBy: reporter,
            lastSeq: o.lastSeq,
            generation: o.generation,
          },
          now,
        )
      }
    },
  }
  const pullDeps: PullDeps = {
    feeds: deps.store,
    ingest: (messages, origin) => deps.engine.ingestMany(messages, { origin }),
    followFilter,
    observations,
    log,
  }

  const serve = async (conn: SecureConnection): Promise<void> => {
    const channel = documentChannel(conn)
    const outcome = await runPullServer(channel, pullDeps, conn.remoteId)
    if (outcome === null) {
      await conn.close()
      return
    }
    log.debug({ peer: conn.remoteId, ...outcome }, 'served a pull exchange')
    // Push negotiation (§4.7.1): we do not offer persistent links yet, so we answer pull-only.
    const next = await Promise.race([
      channel.receive().catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), SUBSCRIBE_WAIT_MS).unref()),
    ])
    if (next?.type === 'subscribe') {
      await channel
        .send({ type: 'subscribeack', accepted: false, mode: 'pull_only' })
        .catch(() => undefined)
    }
    await conn.close()
  }

  const syncPeer = async (address: string): Promise<boolean> => {
    const { host, port } = splitAddress(address)
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(OUTGOING_SYNC_BUDGET_MS)])
    const conn = await dialSecure({
      host,
      port,
      identity,
      networkKey,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      timeoutMs: OUTGOING_SYNC_BUDGET_MS,
      signal,
      log,
    })
    const budget = setTimeout(
      () => conn.destroy(new Error('sync budget exceeded')),
      OUTGOING_SYNC_BUDGET_MS,
    )
    try {
      if (conn.remoteId === identity.id) throw new Error('dialled self')
      const outcome = await runPullClient(documentChannel(conn), pullDeps, conn.remoteId)
      const at = timestampFromMillis(deps.clock.now())
      state.recordSync(address, conn.remoteId, at)
      // Health rows keep the sortable form so newer-than comparisons work as text (§4.12).
      state.recordDirectObservation(
        conn.remoteId,
        toSortableTimestamp(at),
        deps.store.headOf(conn.remoteId)?.sequence ?? 0,
        deps.generation,
      )
      log.info({ peer: conn.remoteId, address, ...outcome }, 'synced')
      return outcome.moreAvailable
    } finally {
      clearTimeout(budget)
      await conn.close().catch(() => undefined) // pull only: goodbye and close (§4.7.1 step 1)
    }
  }

  const syncWithBackoff = async (address: string): Promise<void> => {
    const b = backoff.get(address)
    if (b !== undefined && deps.clock.now() < b.until) return
    try {
      for (let round = 0; round < MAX_CATCH_UP_ROUNDS && !stopped; round++) {
        if (!(await syncPeer(address))) break // a peer with more to give is synced again at once
      }
      backoff.delete(address)
    } catch (err) {
      const failures = (b?.failures ?? 0) + 1
      const wait = random() * Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_CAP_MS)
      backoff.set(address, { failures, until: deps.clock.now() + wait })
      log.info({ address, failures, err: (err as Error).message }, 'sync failed; backing off')
    }
  }

  const peerAddresses = (): string[] => {
    const all = [...config.peers, ...state.listPeers().map((p) => p.address)]
    for (const k of state.listKnownPeersWithAddress()) if (k.address !== null) all.push(k.address)
    return [...new Set(all)]
  }

  const runCycle = async (): Promise<void> => {
    const cutoff = timestampFromMillis(Math.max(0, deps.clock.now() - OBSERVATION_MAX_AGE_MS))
    state.evictObservationsBefore(toSortableTimestamp(cutoff)) // §4.10 step 1
    const queue = peerAddresses()
    const worker = async (): Promise<void> => {
      for (let a = queue.shift(); a !== undefined && !stopped; a = queue.shift())
        await syncWithBackoff(a)
    }
    await Promise.all(Array.from({ length: Math.min(MAX_CONCURRENT_SYNCS, queue.length) }, worker))
  }

  const loop = (): void => {
    if (stopped) return
    cycle = runCycle().finally(() => {
      cycle = null
      if (!stopped) timer = setTimeout(loop, config.intervalSecs * 1000)
    })
  }

  return {
    async start() {
      if (config.networkKey === DEFAULT_NETWORK_KEY) {
        log.warn(
          {},
          'using the public default network key: anyone who knows it can join (see --network-key)',
        )
      }
      server = await listenSecure({
        host: config.bind,
        port: config.port,
        identity,
        networkKey,
        log,
        onConnection: async (conn) => {
          if (conn.remoteId === identity.id) await conn.close()
          else await serve(conn)
        },
      })
      if (config.manualSync !== true) loop()
    },
    async stop() {
      stopped = true
      abort.abort()
      if (timer !== null) clearTimeout(timer)
      await cycle?.catch(() => undefined)
      await server?.close()
    },
    port: () => server?.address().port ?? config.port,
    syncOnce: () => runCycle(),
  }
}
