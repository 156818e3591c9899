/**
 * Node state besides messages (PROTOCOL.md §6.1): follows, gossip peers, known (relay-registered)
 * peers, mesh health observations and the generation counter.
 */
import type { Db } from './database.js'

/** Where a peers-table row came from (§6.2). */
export type PeerSource = 'manual' | 'lan'

export interface PeerRow {
  readonly address: string
  readonly publicId: string | null
  readonly source: PeerSource
  readonly lastConnected: string | null
  readonly lastSynced: string | null
}

export interface KnownPeerRow {
  readonly publicId: string
  readonly address: string | null
  readonly nickname: string | null
  readonly private: boolean
  readonly authorized: boolean
  readonly firstSeen: string
  readonly lastConnected: string | null
  readonly lastSynced: string | null
}

/** A mesh health observation (§4.12). */
export interface HealthRow {
  readonly peerId: string
  readonly lastSeenAt: string
  readonly lastSeenBy: string
  readonly lastSeq: number
  readonly generation: number
}

export type StateStore = ReturnType<typeof createStateStore>

/** Follows, peers and local state over an open database. */
export function createStateStore(db: Db) {
  const s = {
    follows: db.prepare('SELECT author FROM follows ORDER BY author').pluck(),
    follow: db.prepare('INSERT OR IGNORE INTO follows (author) VALUES (?)'),
    unfollow: db.prepare('DELETE FROM follows WHERE author = ?'),
    peers: db.prepare(
      `SELECT address, public_id AS publicId, source, last_connected AS lastConnected, last_synced AS lastSynced
       FROM peers ORDER BY rowid`,
    ),
    peer: db.prepare(
      `SELECT address, public_id AS publicId, source, last_connected AS lastConnected, last_synced AS lastSynced
       FROM peers WHERE address = ?`,
    ),
    addManual: db.prepare(
      `INSERT INTO peers (address, source) VALUES (?, 'manual')
       ON CONFLICT (address) DO UPDATE SET source = 'manual'`,
    ),
    addLan: db.prepare(`INSERT OR IGNORE INTO peers (address, source) VALUES (?, 'lan')`),
    removePeer: db.prepare('DELETE FROM peers WHERE address = ?'),
    recordSync: db.prepare(
      'UPDATE peers SET public_id = ?, last_connected = ?, last_synced = ? WHERE address = ?',
    ),
    knownWithAddress: db.prepare(
      `SELECT public_id AS publicId, address, nickname, private, authorized, first_seen AS firstSeen,
              last_connected AS lastConnected, last_synced AS lastSynced
       FROM known_peers WHERE authorized = 1 AND address IS NOT NULL ORDER BY first_seen, public_id`,
    ),
    health: db.prepare(
      `SELECT peer_id AS peerId, last_seen_at AS lastSeenAt, last_seen_by AS lastSeenBy, last_seq AS lastSeq,
              generation FROM peer_health`,
    ),
    // A direct observation replaces the stored one when its generation is not older (§4.12).
    observeDirect: db.prepare(
      `INSERT INTO peer_health (peer_id, last_seen_at, last_seen_by, last_seq, generation, updated_at)
       VALUES (?, ?, 'self', ?, ?, ?)
       ON CONFLICT (peer_id, last_seen_by) DO UPDATE SET
         last_seen_at = excluded.last_seen_at, last_seq = excluded.last_seq,
         generation = excluded.generation, updated_at = excluded.updated_at
       WHERE excluded.generation >= peer_health.generation`,
    ),
    // A reported observation replaces a stored one only when newer: higher generation, or the same
    // generation seen later (§4.12). Times are stored in the sortable 9-digit form.
    observeReported: db.prepare(
      `INSERT INTO peer_health (peer_id, last_seen_at, last_seen_by, last_seq, generation, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (peer_id, last_seen_by) DO UPDATE SET
         last_seen_at = excluded.last_seen_at, last_seq = excluded.last_seq,
         generation = excluded.generation, updated_at = excluded.updated_at
       WHERE excluded.generation > peer_health.generation
          OR (excluded.generation = peer_health.generation AND excluded.last_seen_at > peer_health.last_seen_at)`,
    ),
    directObservations: db.prepare(
      `SELECT peer_id AS peerId, last_seen_at AS lastSeenAt, last_seen_by AS lastSeenBy, last_seq AS lastSeq,
              generation FROM peer_health WHERE last_seen_by = 'self' ORDER BY last_seen_at DESC LIMIT ?`,
    ),
    evictObservations: db.prepare('DELETE FROM peer_health WHERE last_seen_at < ?'),
    getState: db.prepare('SELECT value FROM local_state WHERE key = ?').pluck(),
    setState: db.prepare(
      'INSERT INTO local_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  }
  const toKnown = (r: Record<string, unknown>): KnownPeerRow => ({
    ...(r as unknown as KnownPeerRow),
    private: r['private'] === 1,
    authorized: r['authorized'] === 1,
  })

  return {
    /** Followed authors, sorted. Throws `STORE_ERROR`-worthy SqliteErrors to the caller (fail closed). */
    listFollows: (): string[] => s.follows.all() as string[],
    follow: (author: string): void => void s.follow.run(author),
    unfollow: (author: string): void => void s.unfollow.run(author),
    /** Peers-table rows in insertion order. */
    listPeers: (): PeerRow[] => s.peers.all() as PeerRow[],
    /** Add (or turn a LAN-discovered row into) a manual peer; returns the row. */
    addManualPeer(address: string): PeerRow {
      s.addManual.run(address)
      return s.peer.get(address) as PeerRow
    },
    /** Add a LAN-discovered peer unless the address is already known. */
    addLanPeer: (address: string): void => void s.addLan.run(address),
    removePeer: (address: string): void => void s.removePeer.run(address),
    /** After a successful sync (§4.10): the peer's verified ID and the times, if it is a row. */
    recordSync(address: string, publicId: string, at: string): void {
      s.recordSync.run(publicId, at, at, address)
    },
    /** Authorised known peers that have an address (relay registrations, §7.4 peer list). */
    listKnownPeersWithAddress: (): KnownPeerRow[] =>
      (s.knownWithAddress.all() as Record<string, unknown>[]).map(toKnown),
    /** Every health observation row. */
    listHealth: (): HealthRow[] => s.health.all() as HealthRow[],
    /** Record that we synced with `peerId` now (§4.10 success, §4.12 direct observation). */
    recordDirectObservation(peerId: string, at: string, lastSeq: number, generation: number): void {
      s.observeDirect.run(peerId, at, lastSeq, generation, at)
    },
    /** Store an observation reported by `reporter` (times in the sortable form). */
    recordReportedObservation(o: HealthRow, at: string): void {
      s.observeReported.run(o.peerId, o.lastSeenAt, o.lastSeenBy, o.lastSeq, o.generation, at)
    },
    /** Our direct observations, newest first (what our `have` carries, §4.3.1). */
    listDirectObservations: (limit: number): HealthRow[] =>
      s.directObservations.all(limit) as HealthRow[],
    /** Delete observations seen before `before` (sortable form). */
    evictObservationsBefore: (before: string): void => void s.evictObservations.run(before),
    /** Increment and return the generation counter (§4.12), saturating at 2^32 − 1. */
    nextGeneration(): number {
      return db.transaction(() => {
        const current = Number((s.getState.get('generation') as string | undefined) ?? '0')
        const next = Math.min(current + 1, 0xffffffff)
        s.setState.run('generation', String(next))
        return next
      })()
    },
  }
}
