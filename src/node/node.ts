/**
 * Composition root of the node daemon (PROTOCOL.md §7.9 start-up order): identity, database,
 * generation, hook consumer, HTTP API (REST, SSE, MCP), gossip server and sync loop, LAN discovery.
 * Starts inside-out, stops outside-in.
 */
import type { FastifyInstance } from 'fastify'
import {
  createNodeService,
  createSseHub,
  registerMcp,
  registerRestRoutes,
  type NodeService,
  type SseHub,
} from '../api/index.js'
import { deriveNetworkKey, type Identity } from '../crypto/index.js'
import { createHookRunner, type HookRunner } from '../events/index.js'
import type { FeedEngine } from '../feed/index.js'
import { createHttpServer } from '../http/index.js'
import { silentLogger, type Logger } from '../log.js'
import type { MessageStore, StateStore, SyncMode } from '../store/index.js'
import { startDiscovery, type Discovery } from './discovery.js'
import { openFeedCore } from './feed-core.js'
import { createGossip, type Gossip } from './gossip.js'
import { loadOrCreateIdentity } from './identity-files.js'

/** Hook settings (`--hook-*`, PROTOCOL.md §7.8). */
export interface HookConfig {
  readonly hookPath?: string
  readonly webhookUrl?: string
  readonly webhookSecret?: string
  readonly filterType?: string
}

/** Everything the node needs to know, after flags and config file are merged and validated. */
export interface NodeConfig {
  readonly dataDir: string
  /** Keep the secret key encrypted at rest (`--passphrase`). */
  readonly passphrase: boolean
  /** HTTP API port on 127.0.0.1 (0: let the OS choose). Default 7654. */
  readonly port?: number
  /** Gossip server and sync loop (§4); absent: the node does not replicate (library use, tests). */
  readonly gossip?: {
    readonly bind: string
    /** 0 lets the OS choose. */
    readonly port: number
    readonly networkKey: string
    readonly intervalSecs: number
    /** Run sync cycles only through `gossip.syncOnce()` (tests). */
    readonly manualSync?: boolean
    /** Live push links (§4.7); `--no-push` sets false. Default true. */
    readonly push?: boolean
    /** UDP LAN discovery (§8, `--lan-discovery`); absent: off. */
    readonly lanDiscovery?: { readonly port: number; readonly address: string }
  }
  /** `--peer` addresses. */
  readonly peers?: readonly string[]
  readonly apiToken?: string
  readonly maxSseClients?: number
  readonly hooks?: HookConfig
  readonly syncIntervalSecs?: number
  /** Commit durability (default `normal`: survives kill -9; `full` also survives power loss). */
  readonly sync?: SyncMode
  /** Verification threads (default: cores − 1, at least 1). */
  readonly verifyThreads?: number
  /** Implementation version reported by status and MCP. */
  readonly version?: string
}

export interface NodeDeps {
  readonly log?: Logger
  /** Supplies the passphrase when `passphrase` is set. */
  readonly getPassphrase?: (purpose: 'unlock' | 'create') => Promise<string>
  readonly clock?: { now(): number }
}

export interface EgregoreNode {
  readonly identity: Identity
  readonly engine: FeedEngine
  readonly store: MessageStore
  readonly state: StateStore
  readonly service: NodeService
  /** The gossip server and sync loop, when configured. */
  readonly gossip: Gossip | undefined
  /** True when a new identity was generated at this start. */
  readonly createdIdentity: boolean
  /** The bound HTTP port (after `start`). */
  httpPort(): number
  start(): Promise<void>
  stop(): Promise<void>
}

/** Open the node's state (identity and database). Call `start()` to begin serving. */
export async function createNode(config: NodeConfig, deps: NodeDeps = {}): Promise<EgregoreNode> {
  const log = deps.log ?? silentLogger
  const clock = deps.clock ?? Date
  const startedAtMs = clock.now()
  const { identity, created } = await loadOrCreateIdentity(config.dataDir, {
    encrypted: config.passphrase,
    getPassphrase:
      deps.getPassphrase ??
      (() => Promise.reject(new Error('a passphrase is required but no source was given'))),
  })
  const core = openFeedCore({
    dataDir: config.dataDir,
    identity,
    clock,
    log,
    sync: config.sync,
    verifyThreads: config.verifyThreads,
  })
  const { store, state, engine, generation } = core

  let boundPort = config.port ?? 7654
  const service = createNodeService({
    engine,
    store,
    state,
    clock,
    onPeerAdded: (address) => gossip?.syncNow(address), // called only after start()
    info: {
      version: config.version ?? '0.0.0',
      httpPort: () => boundPort,
      gossipPort: () => gossip?.port() ?? 7655,
      cliPeers: config.peers ?? [],
      startedAtMs,
      syncIntervalSecs: config.syncIntervalSecs ?? 300,
    },
  })
  const gossip: Gossip | undefined =
    config.gossip === undefined
      ? undefined
      : createGossip(
          {
            identity,
            engine,
            store,
            state,
            clock,
            generation,
            log: log.child({ ns: 'egregore:gossip' }),
          },
          { ...config.gossip, peers: config.peers ?? [] },
        )
  const hooks: HookRunner | null =
    config.hooks?.hookPath === undefined && config.hooks?.webhookUrl === undefined
      ? null
      : createHookRunner({ log: log.child({ ns: 'egregore:hooks' }) }, { ...config.hooks })
  const unsubscribeHooks = hooks === null ? () => undefined : engine.onMessage((e) => hooks.push(e))

  const httpLog = log.child({ ns: 'egregore:http' })
  const app: FastifyInstance = createHttpServer({
    log: httpLog,
    loopbackOnly: true,
    ...(config.apiToken === undefined ? {} : { apiToken: config.apiToken }),
  })
  const sse: SseHub = createSseHub(
    { engine, store, log: httpLog },
    { maxClients: config.maxSseClients ?? 1024 },
  )
  registerRestRoutes(app, service)
  sse.register(app)
  registerMcp(app, service, {
    version: config.version ?? '0.0.0',
    port: () => boundPort,
    log: httpLog,
  })

  let discovery: Discovery | null = null
  const startLanDiscovery = async (): Promise<void> => {
    const lan = config.gossip?.lanDiscovery
    if (gossip === undefined || config.gossip === undefined || lan === undefined) return
    // Discovered peers join the peers table; the sync loop picks them up at its next cycle (§8.3).
    discovery = await startDiscovery(
      {
        identity,
        networkKey: deriveNetworkKey(config.gossip.networkKey),
        addLanPeer: (address) => {
          state.addLanPeer(address)
          gossip.syncNow(address) // discovered peers are synced at once (§8.3 step 6)
        },
        log: log.child({ ns: 'egregore:discovery' }),
      },
      { ...lan, gossipPort: () => gossip.port() },
    )
  }

  let stopped = false
  return {
    identity,
    engine,
    store,
    state,
    service,
    gossip,
    createdIdentity: created,
    httpPort: () => boundPort,
    async start() {
      await hooks?.start()
      await app.listen({ host: '127.0.0.1', port: config.port ?? 7654 })
      const address = app.server.address()
      if (address !== null && typeof address === 'object') boundPort = address.port
      await gossip?.start()
      await startLanDiscovery()
    },
    async stop() {
      if (stopped) return
      stopped = true
      await discovery?.stop()
      await gossip?.stop()
      sse.closeAll()
      await app.close()
      unsubscribeHooks()
      await hooks?.stop()
      await core.close()
    },
  }
}
