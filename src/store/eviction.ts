/**
 * Relay retention (PROTOCOL.md §9.6): per author, delete the longest prefix of held messages (in
 * sequence order) received before a cutoff, with their search rows, and raise the feed's floor.
 * One transaction for all authors. The message store wraps this to keep its floor cache current.
 */
import type { Db } from './database.js'

/** What one eviction removed from one feed. */
export interface EvictedFeed {
  readonly author: string
  /** The new floor: the highest deleted sequence. */
  readonly floorSequence: number
  /** Hash of the message at the floor (kept so `floor + 1` is still link-checked, §5.2 step 10). */
  readonly floorHash: string
  /** Messages deleted. */
  readonly messages: number
  /** Stored wire-text bytes deleted (UTF-8), for the relay's quota accounting. */
  readonly bytes: number
}

/**
 * Build the eviction function over an open database: `(cutoffMs) => EvictedFeed[]`, where
 * `cutoffMs` is compared with each message's local receipt time (`received_at`, Unix ms), never
 * with the author's timestamp.
 */
export function createEvictor(db: Db): (cutoffMs: number) => EvictedFeed[] {
  const stmt = {
    // Per author: its first held sequence and the first one received at or after the cutoff.
    // The prefix is non-empty when nothing is that recent, or the first held message is older.
    candidates: db.prepare(
      `SELECT author, stop FROM (
         SELECT author, min(sequence) AS first,
                min(CASE WHEN received_at >= ? THEN sequence END) AS stop
         FROM messages GROUP BY author)
       WHERE stop IS NULL OR first < stop`,
    ),
    last: db.prepare(
      `SELECT sequence, hash FROM messages WHERE author = ? AND (? IS NULL OR sequence < ?)
       ORDER BY sequence DESC LIMIT 1`,
    ),
    size: db.prepare(
      `SELECT count(*) AS n, coalesce(sum(length(CAST(raw_json AS BLOB))), 0) AS bytes
       FROM messages WHERE author = ? AND sequence <= ?`,
    ),
    // The FTS table is contentless with contentless_delete=1: rows are deleted by rowid.
    deleteFts: db.prepare(
      'DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE author = ? AND sequence <= ?)',
    ),
    delete: db.prepare('DELETE FROM messages WHERE author = ? AND sequence <= ?'),
    chainAt: db
      .prepare('SELECT chain_valid FROM messages WHERE author = ? AND sequence = ?')
      .pluck(),
    promote: db.prepare('UPDATE messages SET chain_valid = 1 WHERE author = ? AND sequence = ?'),
    floor: db.prepare(
      `UPDATE feeds SET floor_sequence = max(floor_sequence, ?), floor_hash = ?,
         contiguous_sequence = max(contiguous_sequence, ?)
       WHERE author = ?`,
    ),
  }

  /** Evict one author's prefix below `stop` (all of it when `stop` is null). */
  const evictFeed = (author: string, stop: number | null): EvictedFeed | null => {
    const last = stmt.last.get(author, stop, stop) as { sequence: number; hash: string } | undefined
    if (last === undefined) return null
    const floor = last.sequence
    const { n, bytes } = stmt.size.get(author, floor) as { n: number; bytes: number }
    stmt.deleteFts.run(author, floor)
    stmt.delete.run(author, floor)
    // The message at floor + 1 now starts the chain (§5.3); its link to the floor was checked
    // when the later of the two was stored, so it and the gap-marked successors linked to it
    // become valid. An already valid one ends the walk: its run is in contiguous_sequence.
    let contiguous = floor
    while (stmt.chainAt.get(author, contiguous + 1) === 0) {
      contiguous++
      stmt.promote.run(author, contiguous)
    }
    stmt.floor.run(floor, last.hash, contiguous, author)
    return { author, floorSequence: floor, floorHash: last.hash, messages: n, bytes }
  }

  return (cutoffMs) =>
    db.transaction(() => {
      const out: EvictedFeed[] = []
      const rows = stmt.candidates.all(cutoffMs) as { author: string; stop: number | null }[]
      for (const { author, stop } of rows) {
        const evicted = evictFeed(author, stop)
        if (evicted !== null) out.push(evicted)
      }
      return out
    })()
}
