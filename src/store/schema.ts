/**
 * Versioned schema (PROTOCOL.md §6). Each migration runs once, in order, inside a transaction;
 * `PRAGMA user_version` records the last one applied. Never edit a released migration: add one.
 */

export const MIGRATIONS: readonly string[] = [
  // 1: messages with arrival ids, FTS5 over content text values, feeds, peers and local state.
  `
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival sequence: SSE ids, never reused (§6.2)
    hash TEXT NOT NULL,
    author TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    previous TEXT,
    timestamp TEXT NOT NULL,               -- canonical form (§1.5)
    ts_sort TEXT NOT NULL,                 -- 9-digit fraction form, sorts as text
    content_type TEXT NOT NULL,
    raw_json TEXT NOT NULL,                -- wire form, returned verbatim by every read (§1.9)
    chain_valid INTEGER NOT NULL,
    received_at INTEGER NOT NULL           -- local receipt time, Unix ms (relay eviction)
  );
  CREATE UNIQUE INDEX messages_hash ON messages(hash);
  CREATE UNIQUE INDEX messages_author_sequence ON messages(author, sequence);
  CREATE INDEX messages_feed_order ON messages(ts_sort DESC, author ASC, sequence DESC);
  CREATE INDEX messages_type_order ON messages(content_type, ts_sort DESC);

  CREATE VIRTUAL TABLE messages_fts USING fts5(
    content_text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
  );

  CREATE TABLE feeds (
    author TEXT PRIMARY KEY,
    latest_sequence INTEGER NOT NULL DEFAULT 0,
    contiguous_sequence INTEGER NOT NULL DEFAULT 0,
    last_seen TEXT,
    floor_sequence INTEGER NOT NULL DEFAULT 0,
    floor_hash TEXT
  ) WITHOUT ROWID;

  CREATE TABLE forks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    held_hash TEXT NOT NULL,
    received_hash TEXT NOT NULL,
    received_json TEXT NOT NULL,
    detected_at INTEGER NOT NULL,
    UNIQUE (author, sequence, received_hash)
  );

  CREATE TABLE peers (
    address TEXT PRIMARY KEY,
    public_id TEXT,
    source TEXT NOT NULL DEFAULT 'manual',
    last_connected TEXT,
    last_synced TEXT
  );

  CREATE TABLE known_peers (
    public_id TEXT PRIMARY KEY,
    address TEXT,
    nickname TEXT,
    private INTEGER NOT NULL DEFAULT 0,
    authorized INTEGER NOT NULL DEFAULT 1,
    first_seen TEXT NOT NULL,
    last_connected TEXT,
    last_synced TEXT,
    last_settings_at TEXT
  );

  CREATE TABLE follows (author TEXT PRIMARY KEY) WITHOUT ROWID;

  CREATE TABLE peer_health (
    peer_id TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    last_seen_by TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (peer_id, last_seen_by)
  );
  CREATE INDEX peer_health_peer ON peer_health(peer_id);
  CREATE INDEX peer_health_updated ON peer_health(updated_at);

  CREATE TABLE local_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  `,
  // 2: the hash index keys on the first 16 hex digits (64 bits) of the hash. Entries are a third
  // of the size, so a batch of random hashes dirties a third of the index pages per commit.
  // (author, sequence) stays unique, and a hash names its author and sequence, so no two rows
  // share a hash either. Lookups compare the prefix (indexed) and then the whole hash.
  `
  DROP INDEX messages_hash;
  CREATE INDEX messages_hash_prefix ON messages(substr(hash, 1, 16));
  `,
]
