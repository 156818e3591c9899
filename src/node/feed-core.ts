/**
 * What the node and the relay both open over a data directory: the database with its message
 * and state stores, the generation counter, signature verification threads, background
 * checkpoints and the feed engine. `close` releases them in reverse order.
 */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { createVerifierPool, type Identity } from '../crypto/index.js'
import { createFeedEngine, type FeedEngine } from '../feed/index.js'
import type { Logger } from '../log.js'
import {
  createMessageStore,
  createStateStore,
  openDatabase,
  startCheckpointer,
  type Db,
  type MessageStore,
  type StateStore,
  type SyncMode,
} from '../store/index.js'

export interface FeedCore {
  readonly db: Db
  readonly store: MessageStore
  readonly state: StateStore
  readonly engine: FeedEngine
  /** This run's generation (§4.12), incremented at every open. */
  readonly generation: number
  close(): Promise<void>
}

export interface FeedCoreOptions {
  readonly dataDir: string
  readonly identity: Identity
  readonly sync?: SyncMode | undefined
  /** Verification threads (default: cores − 1, at least 1). */
  readonly verifyThreads?: number | undefined
  readonly clock: { now(): number }
  readonly log: Logger
}

/** Open `<dataDir>/egregore.db` and everything built on it; the database is closed on failure. */
export function openFeedCore(options: FeedCoreOptions): FeedCore {
  const dbPath = join(options.dataDir, 'egregore.db')
  const db = openDatabase(dbPath, { sync: options.sync ?? 'normal' })
  try {
    const store = createMessageStore(db)
    const state = createStateStore(db)
    const generation = state.nextGeneration()
    const verifier = createVerifierPool({
      threads: options.verifyThreads ?? Math.max(1, availableParallelism() - 1),
    })
    const checkpointer = startCheckpointer(dbPath)
    const engine = createFeedEngine({
      store,
      identity: options.identity,
      verifier,
      clock: options.clock,
      log: options.log.child({ ns: 'egregore:feed' }),
    })
    return {
      db,
      store,
      state,
      engine,
      generation,
      async close() {
        await engine.close()
        await verifier.close()
        await checkpointer.stop()
        db.close()
      },
    }
  } catch (err) {
    db.close()
    throw err
  }
}
