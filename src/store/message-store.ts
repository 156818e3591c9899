/**
 * SQLite implementation of the FeedStore the feed engine and replication use (PROTOCOL.md §5.4,
 * §6), combined with the API's read queries (message-queries.ts).
 */
import { toSortableTimestamp } from '../codec/index.js'
import type {
  FeedFloor,
  FeedStore,
  FeedSummary,
  ForkEvidence,
  HeldMessage,
  MessageRecord,
  Neighbours,
} from '../feed/index.js'
import type { Db } from './database.js'
import { createEvictor, type EvictedFeed } from './eviction.js'
import { COLUMNS, createMessageQueries, toStored, type MessageRow } from './message-queries.js'

interface HeldRow {
  sequence: number
  hash: string
  previous: string | null
  chain_valid: number
}

function toHeld(r: HeldRow): HeldMessage {
  return {
    sequence: r.sequence,
    hash: r.hash,
    previous: r.previous,
    chainValid: r.chain_valid === 1,
  }
}

/** Relay retention on top of the FeedStore (PROTOCOL.md §9.6). */
export interface Retainer {
  /**
   * Delete, per author, the longest sequence prefix received before `cutoffMs` (Unix ms) with
   * its search rows, and raise the feed's floor; one transaction. Returns what each feed lost.
   */
  evictReceivedBefore(cutoffMs: number): EvictedFeed[]
}

export type MessageStore = FeedStore & Retainer & ReturnType<typeof createMessageQueries>

/** Create the message store over an open, migrated database. */
export function createMessageStore(db: Db): MessageStore {
  const floors = new Map<string, FeedFloor>()
  for (const r of db
    .prepare(
      'SELECT author, floor_sequence AS sequence, floor_hash AS hash FROM feeds WHERE floor_sequence > 0',
    )
    .all() as { author: string; sequence: number; hash: string | null }[]) {
    floors.set(r.author, { sequence: r.sequence, hash: r.hash })
  }
  const NO_FLOOR: FeedFloor = { sequence: 0, hash: null }

  const stmt = {
    around: db.prepare(
      'SELECT sequence, hash, previous, chain_valid FROM messages WHERE author = ? AND sequence BETWEEN ? AND ?',
    ),
    heldByHash: db.prepare(
      `SELECT m.hash, m.author, m.sequence FROM json_each(?) j
       JOIN messages m ON substr(m.hash, 1, 16) = substr(j.value, 1, 16) AND m.hash = j.value`,
    ),
    head: db.prepare(
      'SELECT sequence, hash, chain_valid FROM messages WHERE author = ? ORDER BY sequence DESC LIMIT 1',
    ),
    tip: db.prepare(
      'SELECT sequence, hash, previous, chain_valid FROM messages WHERE author = ? ORDER BY sequence DESC LIMIT 1',
    ),
    latest: db.prepare('SELECT max(sequence) FROM messages WHERE author = ?').pluck(),
    insert: db.prepare(
      `INSERT INTO messages (hash, author, sequence, previous, timestamp, ts_sort, content_type, raw_json, chain_valid, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertFts: db.prepare('INSERT INTO messages_fts (rowid, content_text) VALUES (?, ?)'),
    chainAt: db
      .prepare('SELECT chain_valid FROM messages WHERE author = ? AND sequence = ?')
      .pluck(),
    promote: db.prepare('UPDATE messages SET chain_valid = 1 WHERE author = ? AND sequence = ?'),
    upsertFeed: db.prepare(
      `INSERT INTO feeds (author, latest_sequence, contiguous_sequence, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (author) DO UPDATE SET
         latest_sequence = max(latest_sequence, excluded.latest_sequence),
         contiguous_sequence = max(contiguous_sequence, excluded.contiguous_sequence),
         last_seen = excluded.last_seen`,
    ),
    fork: db.prepare(
      `INSERT OR IGNORE INTO forks (author, sequence, held_hash, received_hash, received_json, detected_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    summaries: db.prepare(
      'SELECT author, latest_sequence, max(contiguous_sequence, floor_sequence) AS contiguous FROM feeds ORDER BY author',
    ),
    contiguous: db
      .prepare('SELECT max(contiguous_sequence, floor_sequence) FROM feeds WHERE author = ?')
      .pluck(),
    after: db.prepare(
      `SELECT ${COLUMNS} FROM messages m WHERE m.author = ? AND m.sequence > ? ORDER BY m.sequence ASC LIMIT ?`,
    ),
  }

  const pendingFeeds = new Map<string, { latest: number; contiguous: number; lastSeen: string }>()
  // Per author, inside one write transaction: the highest held message (the tip), read once and
  // then kept up to date by insertMessage. A message appended after the tip (the common case: a
  // feed arriving in order) needs no neighbour query; anything else asks the database.
  const tips = new Map<string, { tip: HeldMessage | undefined }>()
  let inStoreTransaction = 0
  const tipOf = (author: string): HeldMessage | undefined => {
    let t = tips.get(author)
    if (t === undefined) {
      const r = stmt.tip.get(author) as HeldRow | undefined
      t = { tip: r === undefined ? undefined : toHeld(r) }
      tips.set(author, t)
    }
    return t.tip
  }
  const flushFeeds = (): void => {
    for (const [author, f] of pendingFeeds)
      stmt.upsertFeed.run(author, f.latest, f.contiguous, f.lastSeen)
    pendingFeeds.clear()
  }

  const feedStore: FeedStore = {
    transaction: <T>(fn: () => T): T =>
      db.transaction(() => {
        inStoreTransaction++
        try {
          const result = fn()
          flushFeeds()
          return result
        } finally {
          inStoreTransaction--
          pendingFeeds.clear() // after a throw the transaction rolls back; drop its feed updates
          tips.clear() // and the tips it read or moved
        }
      })(),
    neighbours(author, sequence): Neighbours {
      if (inStoreTransaction > 0) {
        const tip = tipOf(author)
        const latest = tip?.sequence ?? 0
        if (sequence > latest) {
          if (sequence - 1 === latest && tip !== undefined) return { before: tip }
          if (sequence - 1 > latest) return {}
        }
      }
      const rows = stmt.around.all(author, sequence - 1, sequence + 1) as HeldRow[]
      const out: { before?: HeldMessage; at?: HeldMessage; after?: HeldMessage } = {}
      for (const r of rows) {
        if (r.sequence === sequence - 1) out.before = toHeld(r)
        else if (r.sequence === sequence) out.at = toHeld(r)
        else out.after = toHeld(r)
      }
      return out
    },
    heldByHash(messages) {
      const out = new Map<string, { author: string; sequence: number }>()
      // Messages above their author's highest held sequence cannot be held: only the others are
      // looked up (a feed arriving for the first time costs one query per author).
      const latest = new Map<string, number>()
      const hashes: string[] = []
      for (const m of messages) {
        let l = latest.get(m.author)
        if (l === undefined) {
          l = (stmt.latest.get(m.author) as number | null) ?? 0
          latest.set(m.author, l)
        }
        if (m.sequence <= l) hashes.push(m.hash)
      }
      if (hashes.length === 0) return out
      for (const r of stmt.heldByHash.all(JSON.stringify(hashes)) as {
        hash: string
        author: string
        sequence: number
      }[]) {
        out.set(r.hash, { author: r.author, sequence: r.sequence })
      }
      return out
    },
    floorOf: (author) => floors.get(author) ?? NO_FLOOR,
    headOf(author) {
      const r = stmt.head.get(author) as
        { sequence: number; hash: string; chain_valid: number } | undefined
      return r === undefined
        ? undefined
        : { sequence: r.sequence, hash: r.hash, chainValid: r.chain_valid === 1 }
    },
    insertMessage(r: MessageRecord, hint?: { readonly successorHeld: boolean }): number {
      const info = stmt.insert.run(
        r.hash,
        r.author,
        r.sequence,
        r.previous,
        r.timestamp,
        toSortableTimestamp(r.timestamp),
        r.contentType,
        r.wireText,
        r.chainValid ? 1 : 0,
        r.receivedAtMs,
      )
      const id = Number(info.lastInsertRowid)
      if (r.searchText !== '') stmt.insertFts.run(id, r.searchText)
      let contiguous = 0
      if (r.chainValid) {
        // Transitive promotion (§5.3): walk forward over held successors that were gaps.
        contiguous = r.sequence
        while (hint?.successorHeld !== false && stmt.chainAt.get(r.author, contiguous + 1) === 0) {
          contiguous++
          stmt.promote.run(r.author, contiguous)
        }
      }
      const t = tips.get(r.author)
      if (t !== undefined) {
        if (t.tip === undefined || r.sequence > t.tip.sequence) {
          const { sequence, hash, previous, chainValid } = r
          t.tip = { sequence, hash, previous, chainValid }
        } else if (contiguous >= t.tip.sequence && !t.tip.chainValid) {
          t.tip = { ...t.tip, chainValid: true } // promoted by the walk above
        }
      }
      // Feed rows are updated once per author per transaction (a batch is often one feed).
      const pending = pendingFeeds.get(r.author)
      if (pending === undefined) {
        pendingFeeds.set(r.author, { latest: r.sequence, contiguous, lastSeen: r.timestamp })
      } else {
        pending.latest = Math.max(pending.latest, r.sequence)
        pending.contiguous = Math.max(pending.contiguous, contiguous)
        pending.lastSeen = r.timestamp
      }
      if (!db.inTransaction) flushFeeds()
      return id
    },
    recordFork(e: ForkEvidence): void {
      stmt.fork.run(e.author, e.sequence, e.heldHash, e.receivedHash, e.wireText, e.detectedAtMs)
    },
    feedSummaries(): FeedSummary[] {
      return (
        stmt.summaries.all() as { author: string; latest_sequence: number; contiguous: number }[]
      ).map((r) => ({
        author: r.author,
        latestSequence: r.latest_sequence,
        contiguousSequence: r.contiguous,
      }))
    },
    contiguousSequence: (author) => (stmt.contiguous.get(author) as number | undefined) ?? 0,
    messagesAfter: (author, afterSequence, limit) =>
      (stmt.after.all(author, afterSequence, limit) as MessageRow[]).map(toStored),
  }
  const evict = createEvictor(db)
  const retainer: Retainer = {
    evictReceivedBefore(cutoffMs) {
      const evicted = evict(cutoffMs)
      // Ingest reads floors from this cache (§5.2 steps 3 and 10); update it after the commit.
      for (const e of evicted)
        floors.set(e.author, { sequence: e.floorSequence, hash: e.floorHash })
      return evicted
    },
  }
  return Object.assign(feedStore, retainer, createMessageQueries(db))
}
