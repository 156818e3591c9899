/**
 * SQLite implementation of FeedStore plus the read queries of PROTOCOL.md §6.4: feed listing,
 * by author, by hash, full-text search, counts. Statements are prepared once.
 */
import {
  DEFAULT_FEED_LIMIT,
  DEFAULT_SEARCH_LIMIT,
  MAX_FEED_LIMIT,
  toSortableTimestamp,
} from '../codec/index.js'
import type {
  FeedFloor,
  FeedStore,
  FeedSummary,
  ForkEvidence,
  HeldMessage,
  MessageRecord,
  Neighbours,
  StoredMessage,
} from '../feed/index.js'
import type { Statement } from 'better-sqlite3'
import type { Db } from './database.js'
import { toFtsQuery } from './search.js'

/** Filters and paging of a feed listing (newest first). */
export interface FeedQuery {
  readonly author?: string
  readonly excludeAuthor?: string
  readonly contentType?: string
  readonly limit?: number
  readonly offset?: number
}

/** Filters and paging of a search (best match first). */
export interface SearchQuery {
  readonly text: string
  readonly contentType?: string
  readonly author?: string
  readonly limit?: number
  readonly offset?: number
}

/** A page of search results and how it is ordered. */
export interface SearchPage {
  readonly messages: StoredMessage[]
  /** `rank`: BM25 then newest (§6.3); `recency`: newest arrivals first (very broad queries). */
  readonly order: 'rank' | 'recency'
}

/** Above this many matches a search is ordered by recency instead of BM25 (cost bound). */
export const MAX_RANKED_MATCHES = 10000

/** Store-wide counts for status (§6.4). */
export interface StoreCounts {
  readonly messageCount: number
  readonly feedCount: number
  readonly followCount: number
}

interface MessageRow {
  id: number
  author: string
  sequence: number
  hash: string
  timestamp: string
  content_type: string
  raw_json: string
  chain_valid: number
  received_at: number
}

interface HeldRow {
  sequence: number
  hash: string
  previous: string | null
  chain_valid: number
}

const COLUMNS =
  'm.id, m.author, m.sequence, m.hash, m.timestamp, m.content_type, m.raw_json, m.chain_valid, m.received_at'
const FEED_ORDER = 'ORDER BY m.ts_sort DESC, m.author ASC, m.sequence DESC'

function toStored(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    author: r.author,
    sequence: r.sequence,
    hash: r.hash,
    timestamp: r.timestamp,
    contentType: r.content_type,
    wireText: r.raw_json,
    chainValid: r.chain_valid === 1,
    receivedAtMs: r.received_at,
  }
}

function toHeld(r: HeldRow): HeldMessage {
  return {
    sequence: r.sequence,
    hash: r.hash,
    previous: r.previous,
    chainValid: r.chain_valid === 1,
  }
}

/** A page size clamped to 0…MAX_FEED_LIMIT (§7.5); missing or non-finite gives `fallback`. */
export function clampLimit(limit: number | undefined, fallback: number): number {
  const n = limit === undefined || !Number.isFinite(limit) ? fallback : Math.trunc(limit)
  return Math.min(Math.max(n, 0), MAX_FEED_LIMIT)
}

/** An offset clamped to ≥ 0; missing or non-finite gives 0. */
function clampOffset(offset: number | undefined): number {
  return offset === undefined || !Number.isFinite(offset) ? 0 : Math.max(Math.trunc(offset), 0)
}

export type MessageStore = FeedStore & ReturnType<typeof createQueries>

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
      'SELECT hash, author, sequence FROM messages WHERE hash IN (SELECT value FROM json_each(?))',
    ),
    head: db.prepare(
      'SELECT sequence, hash, chain_valid FROM messages WHERE author = ? ORDER BY sequence DESC LIMIT 1',
    ),
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
  const flushFeeds = (): void => {
    for (const [author, f] of pendingFeeds)
      stmt.upsertFeed.run(author, f.latest, f.contiguous, f.lastSeen)
    pendingFeeds.clear()
  }

  const feedStore: FeedStore = {
    transaction: <T>(fn: () => T): T =>
      db.transaction(() => {
        try {
          const result = fn()
          flushFeeds()
          return result
        } finally {
          pendingFeeds.clear() // after a throw the transaction rolls back; drop its feed updates
        }
      })(),
    neighbours(author, sequence): Neighbours {
      const rows = stmt.around.all(author, sequence - 1, sequence + 1) as HeldRow[]
      const out: { before?: HeldMessage; at?: HeldMessage; after?: HeldMessage } = {}
      for (const r of rows) {
        if (r.sequence === sequence - 1) out.before = toHeld(r)
        else if (r.sequence === sequence) out.at = toHeld(r)
        else out.after = toHeld(r)
      }
      return out
    },
    heldByHash(hashes) {
      const out = new Map<string, { author: string; sequence: number }>()
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
  return Object.assign(feedStore, createQueries(db))
}

/** Read queries used by the API (§6.4). */
function createQueries(db: Db) {
  const byHash = db.prepare(`SELECT ${COLUMNS} FROM messages m WHERE m.hash = ?`)
  const counts = db.prepare(
    `SELECT (SELECT count(*) FROM messages) AS messageCount, (SELECT count(*) FROM feeds) AS feedCount,
            (SELECT count(*) FROM follows) AS followCount`,
  )
  const lastId = db.prepare('SELECT coalesce(max(id), 0) FROM messages').pluck()
  const countMatches = db
    .prepare('SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?')
    .pluck()
  const listCache = new Map<string, Statement>()
  const cached = (sql: string): Statement => {
    let s = listCache.get(sql)
    if (s === undefined) {
      s = db.prepare(sql)
      listCache.set(sql, s)
    }
    return s
  }

  return {
    /** A message by hash. */
    messageByHash(hash: string): StoredMessage | undefined {
      const r = byHash.get(hash) as MessageRow | undefined
      return r === undefined ? undefined : toStored(r)
    },
    /** Feed listing, newest first by the author-claimed timestamp (§6.4). */
    queryFeed(q: FeedQuery = {}): StoredMessage[] {
      const where: string[] = []
      const args: (string | number)[] = []
      const filter = (clause: string, value: string | undefined): void => {
        if (value === undefined) return
        where.push(clause)
        args.push(value)
      }
      filter('m.author = ?', q.author)
      filter('m.author != ?', q.excludeAuthor)
      filter('m.content_type = ?', q.contentType)
      const sql = `SELECT ${COLUMNS} FROM messages m ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ${FEED_ORDER} LIMIT ? OFFSET ?`
      args.push(clampLimit(q.limit, DEFAULT_FEED_LIMIT), clampOffset(q.offset))
      return (cached(sql).all(...args) as MessageRow[]).map(toStored)
    },
    /** Full-text search (§6.3); see `searchPage` for the ordering rule. */
    search(q: SearchQuery): StoredMessage[] {
      return this.searchPage(q).messages
    },
    /**
     * Full-text search (§6.3): best BM25 rank first, then newest. Ranking has to score every
     * match, which for a term found in most messages costs ~1 µs per match; when a query matches
     * more than `MAX_RANKED_MATCHES` messages the page is ordered by arrival instead, newest
     * first (`order: 'recency'`), which FTS5 serves without visiting every match.
     */
    searchPage(q: SearchQuery): SearchPage {
      const match = toFtsQuery(q.text)
      if (match === null) return { messages: [], order: 'rank' }
      const filters: string[] = []
      const filterArgs: string[] = []
      if (q.contentType !== undefined) {
        filters.push('m.content_type = ?')
        filterArgs.push(q.contentType)
      }
      if (q.author !== undefined) {
        filters.push('m.author = ?')
        filterArgs.push(q.author)
      }
      const page = [clampLimit(q.limit, DEFAULT_SEARCH_LIMIT), clampOffset(q.offset)]
      const matches = countMatches.get(match) as number
      const where = ['messages_fts MATCH ?', ...filters].join(' AND ')
      let sql: string
      let order: SearchPage['order'] = 'rank'
      if (matches > MAX_RANKED_MATCHES) {
        order = 'recency'
        sql = `SELECT ${COLUMNS} FROM messages_fts f JOIN messages m ON m.id = f.rowid
          WHERE ${where} ORDER BY f.rowid DESC LIMIT ? OFFSET ?`
      } else if (filters.length === 0) {
        // Rank inside FTS5 first and fetch only the page's rows; equal ranks end newest first.
        sql = `SELECT ${COLUMNS} FROM (SELECT rowid, rank FROM messages_fts WHERE messages_fts MATCH ?
          ORDER BY rank LIMIT ? OFFSET ?) f JOIN messages m ON m.id = f.rowid ORDER BY f.rank, m.ts_sort DESC`
      } else {
        sql = `SELECT ${COLUMNS} FROM messages_fts f JOIN messages m ON m.id = f.rowid
          WHERE ${where} ORDER BY f.rank, m.ts_sort DESC LIMIT ? OFFSET ?`
      }
      const rows = cached(sql).all(match, ...filterArgs, ...page) as MessageRow[]
      return { messages: rows.map(toStored), order }
    },
    /** Messages with arrival id > `afterId` in arrival order, optionally filtered (SSE resume, §7.6). */
    messagesSince(
      afterId: number,
      limit: number,
      filter: { readonly author?: string; readonly contentType?: string } = {},
    ): StoredMessage[] {
      const where = ['m.id > ?']
      const args: (string | number)[] = [afterId]
      if (filter.author !== undefined) {
        where.push('m.author = ?')
        args.push(filter.author)
      }
      if (filter.contentType !== undefined) {
        where.push('m.content_type = ?')
        args.push(filter.contentType)
      }
      const sql = `SELECT ${COLUMNS} FROM messages m WHERE ${where.join(' AND ')} ORDER BY m.id LIMIT ?`
      return (cached(sql).all(...args, limit) as MessageRow[]).map(toStored)
    },
    /** The highest arrival id (0 when empty). */
    lastMessageId(): number {
      return lastId.get() as number
    },
    /** Counts for status. */
    counts(): StoreCounts {
      return counts.get() as StoreCounts
    },
    /** Run `PRAGMA integrity_check`; returns `ok` or the problems found. */
    integrityCheck(): string {
      return (db.pragma('integrity_check', { simple: true }) as string) ?? 'unknown'
    },
  }
}
