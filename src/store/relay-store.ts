/**
 * The relay's registrations in `known_peers` (PROTOCOL.md §9.3–9.5): register, settings with
 * replay protection, authorisation, the public directory, sync times, and per-feed stored bytes
 * for the quota. Timestamps are canonical text (§1.5); `last_settings_at` is the sortable form.
 */
import type { Db } from './database.js'

/** The outcome of a registration (§9.5): a value, not an exception. */
export type RegisterOutcome = 'registered' | 'already_registered' | 'max_peers'

/** The outcome of a settings change (§9.4, §9.5). */
export type SettingsOutcome = 'updated' | 'not_registered' | 'stale'

/** A registration as the relay stores it. */
export interface Registration {
  readonly publicId: string
  readonly nickname: string | null
  readonly private: boolean
  /** Canonical timestamp of the registration. */
  readonly firstSeen: string
}

/** One entry of the public directory (`GET /v1/peers`). */
export interface DirectoryEntry {
  readonly publicId: string
  readonly nickname: string | null
  readonly lastConnected: string | null
}

export type RelayStore = ReturnType<typeof createRelayStore>

/** Registration queries over an open, migrated database. */
export function createRelayStore(db: Db) {
  const s = {
    exists: db.prepare('SELECT 1 FROM known_peers WHERE public_id = ?').pluck(),
    count: db.prepare('SELECT count(*) FROM known_peers').pluck(),
    insert: db.prepare(
      `INSERT INTO known_peers (public_id, address, nickname, private, authorized, first_seen)
       VALUES (?, NULL, ?, ?, 1, ?)`,
    ),
    lastSettings: db.prepare('SELECT last_settings_at FROM known_peers WHERE public_id = ?'),
    settings: db.prepare(
      'UPDATE known_peers SET private = coalesce(?, private), last_settings_at = ? WHERE public_id = ?',
    ),
    authorized: db
      .prepare('SELECT authorized FROM known_peers WHERE public_id = ? AND authorized = 1')
      .pluck(),
    authorizedCount: db.prepare('SELECT count(*) FROM known_peers WHERE authorized = 1').pluck(),
    // rowid grows with each insert, so it is the registration order.
    directory: db.prepare(
      `SELECT public_id AS publicId, nickname, last_connected AS lastConnected FROM known_peers
       WHERE authorized = 1 AND private = 0 ORDER BY rowid`,
    ),
    synced: db.prepare(
      'UPDATE known_peers SET last_connected = ?, last_synced = ? WHERE public_id = ?',
    ),
    feedBytes: db.prepare(
      'SELECT author, sum(length(CAST(raw_json AS BLOB))) AS bytes FROM messages GROUP BY author',
    ),
    ping: db.prepare('SELECT count(*) FROM known_peers').pluck(),
  }

  return {
    /**
     * Register a peer (§9.5): `already_registered` when a row exists, `max_peers` when
     * `maxPeers` is non-zero and that many peers are registered, else a new authorised row.
     */
    registerPeer: (r: Registration, maxPeers: number): RegisterOutcome =>
      db.transaction((): RegisterOutcome => {
        if (s.exists.get(r.publicId) !== undefined) return 'already_registered'
        if (maxPeers > 0 && (s.count.get() as number) >= maxPeers) return 'max_peers'
        s.insert.run(r.publicId, r.nickname, r.private ? 1 : 0, r.firstSeen)
        return 'registered'
      })(),
    /**
     * Apply a verified settings request (§9.4): `sortableAt` must be strictly later than the
     * last accepted one (`stale` otherwise); `private` undefined leaves the flag unchanged.
     */
    updateSettings: (publicId: string, priv: boolean | undefined, sortableAt: string) =>
      db.transaction((): SettingsOutcome => {
        const row = s.lastSettings.get(publicId) as { last_settings_at: string | null } | undefined
        if (row === undefined) return 'not_registered'
        if (row.last_settings_at !== null && sortableAt <= row.last_settings_at) return 'stale'
        s.settings.run(priv === undefined ? null : priv ? 1 : 0, sortableAt, publicId)
        return 'updated'
      })(),
    /** True when `publicId` is registered and authorised (§9.3). */
    isAuthorized: (publicId: string): boolean => s.authorized.get(publicId) !== undefined,
    /** Number of registered peers with `authorized = 1` (status `authorized_peers`). */
    authorizedCount: (): number => s.authorizedCount.get() as number,
    /** Authorised, non-private peers in registration order. */
    directory: (): DirectoryEntry[] => s.directory.all() as DirectoryEntry[],
    /** After a completed pull exchange with a registered peer (§9.3). */
    recordSynced(publicId: string, at: string): void {
      s.synced.run(at, at, publicId)
    },
    /** Stored wire-text bytes (UTF-8) of every author's feed. */
    feedBytes(): Map<string, number> {
      const rows = s.feedBytes.all() as { author: string; bytes: number }[]
      return new Map(rows.map((r) => [r.author, r.bytes]))
    },
    /** A cheap read that throws when the database cannot be read (health checks). */
    ping(): void {
      s.ping.get()
    },
  }
}
