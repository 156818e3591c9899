/**
 * Mesh health observations in the pull exchange (PROTOCOL.md §4.12): the direct observations our
 * `have` carries, and how a peer's reported ones are merged into the store.
 */
import {
  MAX_PEER_OBSERVATIONS,
  OBSERVATION_MAX_AGE_MS,
  isFeedId,
  parseTimestamp,
  timestampFromMillis,
  timestampToMillis,
  toSortableTimestamp,
} from '../codec/index.js'
import type { PullDeps } from '../replication/index.js'
import type { StateStore } from '../store/index.js'

/** The `observations` the pull session uses, over the state store. */
export function meshObservations(
  ourId: string,
  state: StateStore,
  clock: { now(): number },
): NonNullable<PullDeps['observations']> {
  return {
    ours: () =>
      state.listDirectObservations(MAX_PEER_OBSERVATIONS).map((r) => ({
        peerId: r.peerId,
        lastSeenAt: parseTimestamp(r.lastSeenAt),
        lastSeq: r.lastSeq,
        generation: r.generation,
      })),
    merge(reporter, reported) {
      // §4.12: first 500, future times clamped to now, older than 72 h dropped, none about us.
      const nowMs = clock.now()
      const now = toSortableTimestamp(timestampFromMillis(nowMs))
      for (const o of reported.slice(0, MAX_PEER_OBSERVATIONS)) {
        if (o.peerId === ourId || !isFeedId(o.peerId)) continue
        const seenMs = timestampToMillis(o.lastSeenAt)
        if (nowMs - seenMs > OBSERVATION_MAX_AGE_MS) continue
        const lastSeenAt = seenMs > nowMs ? now : toSortableTimestamp(o.lastSeenAt)
        state.recordReportedObservation(
          {
            peerId: o.peerId,
            lastSeenAt,
            lastSeenBy: reporter,
            lastSeq: o.lastSeq,
            generation: o.generation,
          },
          now,
        )
      }
    },
  }
}
