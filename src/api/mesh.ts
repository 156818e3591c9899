/** Mesh health view (PROTOCOL.md §4.12, §7.4): one observation per peer, with a status band. */
import type { HealthRow } from '../store/index.js'
import { parseTimestamp, timestampToMillis } from '../codec/index.js'

export type MeshStatus = 'recent' | 'stale' | 'suspected' | 'unknown'

/** A mesh entry, keys in the order of §7.4. */
export interface MeshEntry {
  peer_id: string
  last_seen_at: string
  last_seen_by: string
  observation_age_secs: number
  last_seq: number
  generation: number
  status: MeshStatus
}

/** Status band from the age of an observation and the sync interval `I` (k = floor(age / I)). */
export function meshStatus(ageSecs: number, intervalSecs: number): MeshStatus {
  if (intervalSecs <= 0) return 'unknown'
  const k = Math.floor(ageSecs / intervalSecs)
  if (k <= 1) return 'recent'
  if (k <= 4) return 'stale'
  if (k <= 9) return 'suspected'
  return 'unknown'
}

/** One entry per peer: a direct ("self") observation beats a reported one; then the latest. */
export function meshEntries(
  rows: readonly HealthRow[],
  nowMs: number,
  intervalSecs: number,
): MeshEntry[] {
  const best = new Map<string, { row: HealthRow; ms: number }>()
  for (const row of rows) {
    let ms: number
    try {
      ms = timestampToMillis(parseTimestamp(row.lastSeenAt))
    } catch {
      continue // a row with an unreadable time cannot be placed in a band; skip it
    }
    const current = best.get(row.peerId)
    const direct = row.lastSeenBy === 'self'
    const currentDirect = current?.row.lastSeenBy === 'self'
    if (
      current === undefined ||
      (direct && !currentDirect) ||
      (direct === currentDirect && ms > current.ms)
    ) {
      best.set(row.peerId, { row, ms })
    }
  }
  return [...best.values()].map(({ row, ms }) => {
    const age = Math.max(0, Math.floor((nowMs - ms) / 1000))
    return {
      peer_id: row.peerId,
      last_seen_at: parseTimestamp(row.lastSeenAt),
      last_seen_by: row.lastSeenBy,
      observation_age_secs: age,
      last_seq: row.lastSeq,
      generation: row.generation,
      status: meshStatus(age, intervalSecs),
    }
  })
}
