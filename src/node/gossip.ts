/**
 * Gossip for the node (PROTOCOL.md §4.3, §4.10, §4.11): the server that answers pull exchanges,
 * and the sync loop that dials peers concurrently with backoff and immediate catch-up. Wires the
 * secure transport (net/) to the pull session (replication/), and keeps the persistent push links
 * (§4.7) that carry every newly stored message to connected peers at once.
 */
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  CONNECT_TIMEOUT_MS,
  MAX_CATCH_UP_ROUNDS,
  MAX_CONCURRENT_SYNCS,
  OUTGOING_SYNC_BUDGET_MS,
  OBSERVATION_MAX_AGE_MS,
  SUBSCRIBE_WAIT_MS,
  SUBSCRIBEACK_WAIT_MS,
  MAX_PUSH_LINKS,
  INCOMING_CONNECTION_BUDGET_MS,
  timestampFromMillis,
  toSortableTimestamp,
} from '../codec/index.js'
import { DEFAULT_NETWORK_KEY, deriveNetworkKey, type Identity } from '../crypto/index.js'
import type { FeedEngine } from '../feed/index.js'
import type { Logger } from '../log.js'
import { dialSecure, listenSecure, type SecureConnection, type SecureServer } from '../net/index.js'
import {
  runPullClient,
  runPullServer,
  type PullDeps,
  type PullOutcome,
} from '../replication/index.js'
import type { MessageStore, StateStore } from '../store/index.js'
import { documentChannel, receiveWithin, splitAddress } from './gossip-channel.js'
import { meshObservations } from './mesh-observations.js'
import { createPushLinks } from './push-links.js'

export interface GossipConfig {
  readonly bind: string
  readonly port: number
  readonly networkKey: string
  /** `--peer` addresses. */
  readonly peers: readonly string[]
  readonly intervalSecs: number
  /** Do not run the sync loop; cycles run only through `syncOnce` (tests). */
  readonly manualSync?: boolean
  /** Never dial out: no sync loop at all (the relay, §9.1). Default true. */
  readonly dial?: boolean
  /** Live push (§4.7); `--no-push` sets false. Default true. */
  readonly push?: boolean
  /** Persistent-link cap (§4.7.1): 32 for a node, `--max-links` for the relay. */
  readonly maxLinks?: number
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
  /**
   * Authorisation callback after the handshake (§4.11 step 2, the relay's registered peers).
   * False or a throw: goodbye and close.
   */
  readonly authorize?: (peerId: string) => boolean
  /**
   * Replaces the follow-list filter (§4.9): which authors we request and accept by push. Read
   * once per exchange. The relay uses it for its per-feed quota.
   */
  readonly authorFilter?: () => (author: string) => boolean
  /** Called after a completed pull exchange in either role (the relay's last_synced, §9.3). */
  readonly onSynced?: (peerId: string) => void
}

export interface Gossip {
  start(): Promise<void>
  stop(): Promise<void>
  /** The bound gossip port. */
  port(): number
  /** Run one sync cycle now (tests; the loop runs them on its own). */
  syncOnce(): Promise<void>
  /** Sync `address` now, outside the cycle (a peer just added or discovered); no-op without dialling. */
  syncNow(address: string): void
  /** Peer identities with a live push link now. */
  links(): string[]
  /** Resolves when a push link with `peerId` exists (tests, benchmarks). */
  waitForLink(peerId: string): Promise<void>
}

export function createGossip(deps: GossipDeps, config: GossipConfig): Gossip {
  const { identity, state, log } = deps
  const random = deps.random ?? Math.random
  const networkKey = deriveNetworkKey(config.networkKey)
  const pushEnabled = config.push ?? true
  const maxLinks = config.maxLinks ?? MAX_PUSH_LINKS
  const backoff = new Map<string, { failures: number; until: number }>()
  /** Addresses being synced now, and whether another sync was asked for meanwhile. */
  const syncing = new Map<string, { again: boolean; done: Promise<void> }>()
  let server: SecureServer | null = null
  let timer: NodeJS.Timeout | null = null
  let stopped = false
  let cycle: Promise<void> | null = null
  const abort = new AbortController()

  const followFilter = (): ((author: string) => boolean) => {
    if (deps.authorFilter !== undefined) return deps.authorFilter()
    try {
      const follows = new Set(state.listFollows())
      return follows.size === 0 ? () => true : (a) => follows.has(a) || a === identity.id
    } catch (err) {
      log.error({ err }, 'cannot read follows: replicating only our own feed (fail closed)')
      return (a) => a === identity.id
    }
  }
  /** The follow filter for pushes, re-read at most once a second (§4.9). */
  let pushFilter: { at: number; passes: (a: string) => boolean } | null = null
  const pushPasses = (author: string): boolean => {
    const now = Date.now()
    if (pushFilter === null || now - pushFilter.at > 1000)
      pushFilter = { at: now, passes: followFilter() }
    return pushFilter.passes(author)
  }
  const observations = meshObservations(identity.id, state, deps.clock)
  const pullDeps: PullDeps = {
    feeds: deps.store,
    ingest: (messages, origin) => deps.engine.ingestMany(messages, { origin }),
    followFilter,
    observations,
    log,
  }

  const pushLinks = createPushLinks(
    {
      engine: deps.engine,
      ingest: pullDeps.ingest,
      passes: pushPasses,
      requestSync: (address) => requestSync(address),
      log,
    },
    { enabled: pushEnabled, maxLinks },
  )
  const canLink = (peerId: string): boolean => !stopped && pushLinks.canLink(peerId)

  const serve = async (conn: SecureConnection): Promise<void> => {
    const channel = documentChannel(conn)
    const recorder = pushLinks.record(conn.remoteId)
    const budget = setTimeout(
      () => conn.destroy(new Error('connection budget exceeded')),
      INCOMING_CONNECTION_BUDGET_MS,
    )
    try {
      const outcome = await runPullServer(channel, pullDeps, conn.remoteId)
      if (outcome === null) {
        await conn.close()
        return
      }
      log.debug({ peer: conn.remoteId, ...outcome }, 'served a pull exchange')
      deps.onSynced?.(conn.remoteId)
      // Push negotiation, server side (§4.7.1).
      const next = await receiveWithin(channel, SUBSCRIBE_WAIT_MS)
      if (next?.type === 'subscribe') {
        if (next.mode === 'persistent' && canLink(conn.remoteId)) {
          await channel.send({ type: 'subscribeack', accepted: true, mode: 'persistent' })
          clearTimeout(budget)
          pushLinks.enter(conn, channel, recorder, null)
          return
        }
        await channel
          .send({ type: 'subscribeack', accepted: false, mode: 'pull_only' })
          .catch(() => undefined)
      }
      await conn.close()
    } finally {
      clearTimeout(budget)
      pushLinks.forget(recorder)
    }
  }

  const syncPeer = async (
    address: string,
    received: ReadonlyMap<string, number>,
  ): Promise<PullOutcome> => {
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
    const recorder = pushLinks.record(conn.remoteId)
    let linked = false
    let failed = true
    try {
      if (conn.remoteId === identity.id) throw new Error('dialled self')
      const channel = documentChannel(conn)
      const outcome = await runPullClient(channel, pullDeps, conn.remoteId, {
        pipeline: true,
        received,
      })
      const at = timestampFromMillis(deps.clock.now())
      state.recordSync(address, conn.remoteId, at)
      const peerId = conn.remoteId
      // Health rows keep the sortable form so newer-than comparisons work as text (§4.12). The
      // observation's last_seq is what we hold once this exchange's ingest has committed.
      const observed = (outcome.settled ?? Promise.resolve(0)).then((stored) => {
        state.recordDirectObservation(
          peerId,
          toSortableTimestamp(at),
          deps.store.headOf(peerId)?.sequence ?? 0,
          deps.generation,
        )
        return stored
      })
      observed.catch(() => undefined) // awaited by the catch-up loop
      deps.onSynced?.(peerId)
      const { sent, considered, moreAvailable } = outcome
      log.info({ peer: conn.remoteId, address, sent, considered, moreAvailable }, 'synced')
      // Push negotiation, client side (§4.7.1); any failure here still leaves a successful sync.
      if (canLink(conn.remoteId)) {
        const sent = await channel.send({ type: 'subscribe', mode: 'persistent' }).then(
          () => true,
          () => false,
        )
        const ack = sent ? await receiveWithin(channel, SUBSCRIBEACK_WAIT_MS) : null
        if (
          ack?.type === 'subscribeack' &&
          ack.accepted &&
          ack.mode === 'persistent' &&
          canLink(conn.remoteId)
        ) {
          clearTimeout(budget)
          pushLinks.enter(conn, channel, recorder, address)
          linked = true
        }
      }
      failed = false
      return { ...outcome, settled: observed }
    } finally {
      clearTimeout(budget)
      pushLinks.forget(recorder)
      // A protocol or decode error closes without a goodbye (§4.3); pull only: goodbye and close.
      if (failed) conn.destroy()
      else if (!linked) await conn.close().catch(() => undefined)
    }
  }

  const syncWithBackoff = async (address: string): Promise<void> => {
    const b = backoff.get(address)
    if (b !== undefined && deps.clock.now() < b.until) return
    try {
      // A peer with more to give is synced again at once (§4.10). Rounds are pipelined: the next
      // starts while the last batches of the previous one still verify and commit, asking from
      // what was received; at most two rounds' ingest is outstanding.
      const received = new Map<string, number>()
      let ingesting: Promise<number>[] = []
      for (let round = 0; round < MAX_CATCH_UP_ROUNDS && !stopped; round++) {
        const outcome = await syncPeer(address, received)
        if (outcome.settled !== undefined) ingesting.push(outcome.settled)
        for (const [author, seq] of outcome.received ?? []) received.set(author, seq)
        if (outcome.moreAvailable) {
          if (ingesting.length > 1) await ingesting[ingesting.length - 2]
          continue
        }
        const stored = (await Promise.all(ingesting)).reduce((a, b) => a + b, 0)
        ingesting = []
        received.clear()
        // Once committed: a peer that still advertises more than we hold (more than 500 feeds,
        // or messages rejected at ingest) is asked again, as long as the last rounds stored some.
        if (stored === 0 || outcome.behind?.() !== true) break
      }
      await Promise.all(ingesting)
      backoff.delete(address)
    } catch (err) {
      const failures = (b?.failures ?? 0) + 1
      const wait = random() * Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_CAP_MS)
      backoff.set(address, { failures, until: deps.clock.now() + wait })
      log.info({ address, failures, err: (err as Error).message }, 'sync failed; backing off')
    }
  }

  /** Sync an address unless a sync of it is running; then run one more after it (coalesced). */
  const syncAddress = (address: string): Promise<void> => {
    const running = syncing.get(address)
    if (running !== undefined) {
      running.again = true
      return running.done
    }
    const entry = { again: false, done: Promise.resolve() }
    entry.done = (async () => {
      try {
        do {
          entry.again = false
          await syncWithBackoff(address)
        } while (entry.again && !stopped)
      } finally {
        syncing.delete(address)
      }
    })()
    syncing.set(address, entry)
    return entry.done
  }

  /** An out-of-cycle sync (link fell behind or ended, §4.7.3). */
  const requestSync = (address: string): void => {
    if (stopped || config.dial === false) return
    void syncAddress(address)
  }

  const peerAddresses = (): string[] => {
    const all = [...config.peers, ...state.listPeers().map((p) => p.address)]
    for (const k of state.listKnownPeersWithAddress()) if (k.address !== null) all.push(k.address)
    return [...new Set(all)]
  }

  const runCycle = async (): Promise<void> => {
    const cutoff = timestampFromMillis(Math.max(0, deps.clock.now() - OBSERVATION_MAX_AGE_MS))
    state.evictObservationsBefore(toSortableTimestamp(cutoff)) // §4.10 step 1
    if (config.dial === false) return
    const queue = peerAddresses()
    const worker = async (): Promise<void> => {
      for (let a = queue.shift(); a !== undefined && !stopped; a = queue.shift())
        await syncAddress(a)
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

  const authorized = (peerId: string): boolean => {
    if (deps.authorize === undefined) return true
    try {
      return deps.authorize(peerId)
    } catch (err) {
      log.warn({ peer: peerId, err: (err as Error).message }, 'authorisation check failed')
      return false
    }
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
          if (conn.remoteId === identity.id) return conn.close()
          if (!authorized(conn.remoteId)) {
            log.info({ peer: conn.remoteId }, 'unauthorized peer rejected')
            return conn.close()
          }
          await serve(conn)
        },
      })
      if (config.manualSync !== true && config.dial !== false) loop()
    },
    async stop() {
      stopped = true
      abort.abort()
      if (timer !== null) clearTimeout(timer)
      await cycle?.catch(() => undefined)
      await Promise.all([...syncing.values()].map((s) => s.done.catch(() => undefined)))
      await pushLinks.close() // §4.7.2 item 7: a goodbye on every link
      await server?.close()
    },
    port: () => server?.address().port ?? config.port,
    syncOnce: () => runCycle(),
    syncNow: (address) => {
      if (config.manualSync !== true) requestSync(address)
    },
    links: () => pushLinks.peers(),
    waitForLink: (peerId) => pushLinks.waitFor(peerId),
  }
}
