/**
 * Composition root of the relay (PROTOCOL.md §9): an always-on gossip server for registered
 * peers with a public HTTP API, TTL eviction and a per-feed quota. Start-up order of §9.2: data
 * directory, identity, database, HTTP, gossip server, eviction timer; stops in reverse.
 */
import { mkdir } from 'node:fs/promises'
import {
  RELAY_DEFAULT_GOSSIP_PORT,
  RELAY_DEFAULT_HTTP_PORT,
  RELAY_DEFAULT_MAX_FEED_BYTES,
  RELAY_DEFAULT_MAX_PEERS,
  RELAY_DEFAULT_TTL_DAYS,
  RELAY_EVICTION_INTERVAL_MS,
  RELAY_MAX_PUSH_LINKS,
  RELAY_RATE_LIMIT_REQUESTS,
  RELAY_RATE_LIMIT_TRACKED_IPS,
  RELAY_RATE_LIMIT_WINDOW_MS,
  timestampFromMillis,
  utf8Length,
} from '../codec/index.js'
import { DEFAULT_NETWORK_KEY, type Identity } from '../crypto/index.js'
import { EgregoreError } from '../errors.js'
import type { FeedEngine } from '../feed/index.js'
import { createHttpServer } from '../http/index.js'
import { silentLogger, type Logger } from '../log.js'
import { createGossip, loadOrCreateIdentity, openFeedCore, type Gossip } from '../node/index.js'
import {
  createRelayStore,
  type EvictedFeed,
  type MessageStore,
  type RelayStore,
  type StateStore,
  type SyncMode,
} from '../store/index.js'
import { createFeedQuota, gateIngest, type FeedQuota } from './quota.js'
import { createRateLimiter } from './rate-limit.js'
import { registerRelayRoutes, type RelayStatus } from './relay-routes.js'
import { createRetention } from './retention.js'

/** The relay's settings after flags are validated (§9.2). Absent values take the defaults. */
export interface RelayConfig {
  /** Identity (`identity/secret.key`, plaintext) and `egregore.db`. */
  readonly dataDir: string
  /** HTTP API port (default 7660; 0 lets the OS choose). */
  readonly port?: number
  /** HTTP API listen address (default `0.0.0.0`: the API is public by design). */
  readonly bind?: string
  /** Gossip port (default 7661; 0 lets the OS choose). */
  readonly gossipPort?: number
  /** Gossip listen address (default `0.0.0.0`, §9.2; tests use 127.0.0.1). */
  readonly gossipBind?: string
  readonly networkKey?: string
  /** Most registered peers (default 10000); 0 means unlimited. */
  readonly maxPeers?: number
  /** Most persistent push links (default 1024, §9.3). */
  readonly maxLinks?: number
  /** Retention in days by local receipt time (default 30); 0 keeps everything. */
  readonly ttlDays?: number
  /** Stored wire-text bytes per author feed (default 64 MiB); 0 means unlimited. */
  readonly maxFeedBytes?: number
  /** Time between eviction runs (default 3600 s; tests shrink it). */
  readonly evictionIntervalMs?: number
  /** Registration/settings requests per client IP per window (default 10 per 60 s). */
  readonly rateLimit?: { readonly max?: number; readonly windowMs?: number }
  readonly sync?: SyncMode
  /** Verification threads (default: cores − 1, at least 1). */
  readonly verifyThreads?: number
  /** Implementation version reported by status. */
  readonly version?: string
}

export interface RelayDeps {
  readonly log?: Logger
  readonly clock?: { now(): number }
}

export interface Relay {
  readonly identity: Identity
  readonly engine: FeedEngine
  readonly store: MessageStore
  readonly state: StateStore
  readonly registry: RelayStore
  readonly gossip: Gossip
  /** True when a new identity was generated at this start. */
  readonly createdIdentity: boolean
  /** The bound HTTP port (after `start`). */
  httpPort(): number
  /** The bound gossip port (after `start`). */
  gossipPort(): number
  /** The status object of `GET /v1/status`. */
  status(): RelayStatus
  /** Run one eviction now (what the hourly timer does); returns what it removed. */
  evictNow(): EvictedFeed[]
  start(): Promise<void>
  stop(): Promise<void>
}

/** Resolved settings: every default applied once, here. */
function withDefaults(config: RelayConfig) {
  return {
    port: config.port ?? RELAY_DEFAULT_HTTP_PORT,
    bind: config.bind ?? '0.0.0.0',
    gossipPort: config.gossipPort ?? RELAY_DEFAULT_GOSSIP_PORT,
    gossipBind: config.gossipBind ?? '0.0.0.0',
    networkKey: config.networkKey ?? DEFAULT_NETWORK_KEY,
    maxPeers: config.maxPeers ?? RELAY_DEFAULT_MAX_PEERS,
    maxLinks: config.maxLinks ?? RELAY_MAX_PUSH_LINKS,
    ttlDays: config.ttlDays ?? RELAY_DEFAULT_TTL_DAYS,
    maxFeedBytes: config.maxFeedBytes ?? RELAY_DEFAULT_MAX_FEED_BYTES,
    evictionIntervalMs: config.evictionIntervalMs ?? RELAY_EVICTION_INTERVAL_MS,
    version: config.version ?? '0.0.0',
  }
}

/** Open the relay's state (data directory, identity, database). Call `start()` to serve. */
export async function createRelay(config: RelayConfig, deps: RelayDeps = {}): Promise<Relay> {
  const log = deps.log ?? silentLogger
  const clock = deps.clock ?? Date
  const startedAtMs = clock.now()
  const c = withDefaults(config)
  await mkdir(config.dataDir, { recursive: true })
  const { identity, created } = await loadOrCreateIdentity(config.dataDir, {
    encrypted: false,
    getPassphrase: () =>
      Promise.reject(new EgregoreError('IDENTITY_ERROR', 'the relay keeps a plaintext key')),
  })
  const core = openFeedCore({
    dataDir: config.dataDir,
    identity,
    clock,
    log,
    sync: config.sync,
    verifyThreads: config.verifyThreads,
  })
  const { db, store, state, engine, generation } = core
  let registry: RelayStore
  let quota: FeedQuota
  try {
    registry = createRelayStore(db)
    quota = createFeedQuota(
      { log: log.child({ ns: 'egregore:relay' }) },
      { maxFeedBytes: c.maxFeedBytes, initial: registry.feedBytes() },
    )
  } catch (err) {
    await core.close()
    throw err
  }
  const unsubscribeQuota = engine.onMessage((e) => quota.add(e.author, utf8Length(e.wireText)))
  const relayLog = log.child({ ns: 'egregore:relay' })
  const retention = createRetention(
    {
      store,
      clock,
      log: relayLog,
      onEvicted: (evicted) => {
        for (const e of evicted) quota.remove(e.author, e.bytes)
      },
    },
    { ttlDays: c.ttlDays, intervalMs: c.evictionIntervalMs },
  )
  const gossip = createRelayGossip()

  function createRelayGossip(): Gossip {
    const gossipLog = log.child({ ns: 'egregore:gossip' })
    return createGossip(
      {
        identity,
        engine: gateIngest(engine, (author) => quota.passes(author)),
        store,
        state,
        clock,
        generation,
        log: gossipLog,
        // §9.3: only registered, authorised peers; a lookup error counts as "no" (gossip catches).
        authorize: (peerId) => registry.isAuthorized(peerId),
        // The follow list is empty on a relay; the filter is the quota: capped feeds are
        // neither requested nor accepted by push.
        authorFilter: () => (author) => quota.passes(author),
        onSynced: (peerId) => {
          try {
            registry.recordSynced(peerId, timestampFromMillis(clock.now()))
          } catch (err) {
            gossipLog.error({ err, peer: peerId }, 'cannot record the sync time')
          }
        },
      },
      {
        bind: c.gossipBind,
        port: c.gossipPort,
        networkKey: c.networkKey,
        peers: [],
        intervalSecs: 3600, // unused: the relay never dials (§9.1)
        dial: false,
        maxLinks: c.maxLinks,
      },
    )
  }

  const status = (): RelayStatus => {
    const counts = store.counts()
    return {
      version: c.version,
      identity: identity.id,
      authorized_peers: registry.authorizedCount(),
      message_count: counts.messageCount,
      feed_count: counts.feedCount,
      ttl_days: c.ttlDays,
      uptime_secs: Math.max(0, Math.floor((clock.now() - startedAtMs) / 1000)),
      capped_feeds: quota.capped(),
    }
  }

  const app = createHttpServer({ log: log.child({ ns: 'egregore:http' }), loopbackOnly: false })
  registerRelayRoutes(app, {
    registry,
    store,
    clock,
    status,
    maxPeers: c.maxPeers,
    log: relayLog,
    limiter: createRateLimiter({
      max: config.rateLimit?.max ?? RELAY_RATE_LIMIT_REQUESTS,
      windowMs: config.rateLimit?.windowMs ?? RELAY_RATE_LIMIT_WINDOW_MS,
      maxKeys: RELAY_RATE_LIMIT_TRACKED_IPS,
    }),
  })

  let boundPort = c.port
  let stopped = false
  return {
    identity,
    engine,
    store,
    state,
    registry,
    gossip,
    createdIdentity: created,
    httpPort: () => boundPort,
    gossipPort: () => gossip.port(),
    status,
    evictNow: () => retention.runOnce(),
    async start() {
      await app.listen({ host: c.bind, port: c.port })
      const address = app.server.address()
      if (address !== null && typeof address === 'object') boundPort = address.port
      await gossip.start()
      retention.start()
    },
    async stop() {
      if (stopped) return
      stopped = true
      retention.stop()
      await gossip.stop()
      await app.close()
      unsubscribeQuota()
      await core.close()
    },
  }
}
