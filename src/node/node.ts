/**
 * Composition root of the node daemon: identity, database, verifier pool and feed engine.
 * Later issues add the HTTP API, gossip and discovery here. Starts inside-out, stops outside-in.
 */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { createVerifierPool, type Identity, type SignatureVerifier } from '../crypto/index.js'
import { createFeedEngine, type FeedEngine } from '../feed/index.js'
import { silentLogger, type Logger } from '../log.js'
import {
  createMessageStore,
  openDatabase,
  startCheckpointer,
  type Checkpointer,
  type Db,
  type MessageStore,
  type SyncMode,
} from '../store/index.js'
import { loadOrCreateIdentity } from './identity-files.js'

/** Everything the node needs to know, after flags and config file are merged and validated. */
export interface NodeConfig {
  readonly dataDir: string
  /** Keep the secret key encrypted at rest (`--passphrase`). */
  readonly passphrase: boolean
  /** Commit durability (default `normal`: survives kill -9; `full` also survives power loss). */
  readonly sync?: SyncMode
  /** Verification threads (default: cores − 1, at least 1). */
  readonly verifyThreads?: number
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
  /** True when a new identity was generated at this start. */
  readonly createdIdentity: boolean
  start(): Promise<void>
  stop(): Promise<void>
}

/** Open the node's state (identity and database). Call `start()` to begin serving. */
export async function createNode(config: NodeConfig, deps: NodeDeps = {}): Promise<EgregoreNode> {
  const log = deps.log ?? silentLogger
  const { identity, created } = await loadOrCreateIdentity(config.dataDir, {
    encrypted: config.passphrase,
    getPassphrase:
      deps.getPassphrase ??
      (() => Promise.reject(new Error('a passphrase is required but no source was given'))),
  })
  const dbPath = join(config.dataDir, 'egregore.db')
  const db: Db = openDatabase(dbPath, { sync: config.sync ?? 'normal' })
  const store = createMessageStore(db)
  let verifier: SignatureVerifier
  let checkpointer: Checkpointer
  try {
    verifier = createVerifierPool({
      threads: config.verifyThreads ?? Math.max(1, availableParallelism() - 1),
    })
    checkpointer = startCheckpointer(dbPath)
  } catch (err) {
    db.close()
    throw err
  }
  const engine = createFeedEngine(
    deps.clock === undefined
      ? { store, identity, verifier, log: log.child({ ns: 'egregore:feed' }) }
      : { store, identity, verifier, log: log.child({ ns: 'egregore:feed' }), clock: deps.clock },
  )
  let stopped = false
  return {
    identity,
    engine,
    store,
    createdIdentity: created,
    start() {
      return Promise.resolve()
    },
    async stop() {
      if (stopped) return
      stopped = true
      await engine.close()
      await verifier.close()
      await checkpointer.stop()
      db.close()
    },
  }
}
