/** Layer 3: SQLite storage (PROTOCOL.md §6). */
export { openDatabase, type Db, type OpenOptions, type SyncMode } from './database.js'
export { createMessageStore, type MessageStore, type Retainer } from './message-store.js'
export { type EvictedFeed } from './eviction.js'
export {
  createRelayStore,
  type RelayStore,
  type Registration,
  type RegisterOutcome,
  type SettingsOutcome,
  type DirectoryEntry,
} from './relay-store.js'
export {
  clampLimit,
  MAX_RANKED_MATCHES,
  type FeedQuery,
  type SearchQuery,
  type SearchPage,
  type StoreCounts,
} from './message-queries.js'
export { toFtsQuery } from './search.js'
export { startCheckpointer, type Checkpointer, WAL_BACKSTOP_PAGES } from './checkpointer.js'
export {
  createStateStore,
  type StateStore,
  type PeerRow,
  type PeerSource,
  type KnownPeerRow,
  type HealthRow,
} from './state-store.js'
