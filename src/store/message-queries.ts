/**
 * The read queries of PROTOCOL.md §6.4 used by the API: feed listing, by hash, full-text search
 * (§6.3), arrival-order reads for SSE, counts. Statements are prepared once per SQL text.
 */
import type { Statement } from 'better-sqlite3'
import { DEFAULT_FEED_LIMIT, DEFAULT_SEARCH_LIMIT, MAX_FEED_LIMIT } from '../codec/index.js'
import type { StoredMessage } from '../feed/index.js'
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

/** A messages row as the queries select it. */
export interface MessageRow {
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

export const COLUMNS =
  'm.id, m.author, m.sequence, m.hash, m.timestamp, m.content_type, m.raw_json, m.chain_valid, m.received_at'
const FEED_ORDER = 'ORDER BY m.ts_sort DESC, m.author ASC, m.sequence DESC'

export function toStored(r: MessageRow): StoredMessage {
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

/** A page size clamped to 0…MAX_FEED_LIMIT (§7.5); missing or non-finite gives `fallback`. */
export function clampLimit(limit: number | undefined, fallback: number): number {
  const n = limit === undefined || !Number.isFinite(limit) ? fallback : Math.trunc(limit)
  return Math.min(Math.max(n, 0), MAX_FEED_LIMIT)
}

/** An offset clamped to ≥ 0; missing or non-finite gives 0. */
function clampOffset(offset: number | undefined): number {
  return offset === undefined || !Number.isFinite(offset) ? 0 : Math.max(Math.trunc(offset), 0)
}

/** Read queries used by the API (§6.4). */
export function createMessageQueries(db: Db) {
  const byHash = db.prepare(
    `SELECT ${COLUMNS} FROM messages m WHERE substr(m.hash, 1, 16) = substr(?, 1, 16) AND m.hash = ?`,
  )
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
      const r = byHash.get(hash, hash) as MessageRow | undefined
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
