/**
 * The relay's eviction timer (PROTOCOL.md §9.6): with a TTL, every interval (the first one
 * interval after start) evict what was received more than `ttlDays` ago, by local receipt time.
 */
import type { Logger } from '../log.js'
import type { EvictedFeed, Retainer } from '../store/index.js'

export interface RetentionDeps {
  readonly store: Retainer
  readonly clock: { now(): number }
  readonly log: Logger
  /** Called with what each run removed (quota accounting). */
  readonly onEvicted?: (evicted: readonly EvictedFeed[]) => void
}

export interface RetentionOptions {
  /** Retention in days; 0 keeps everything (no timer). */
  readonly ttlDays: number
  readonly intervalMs: number
}

export interface Retention {
  start(): void
  stop(): void
  /** Run one eviction now; returns what it removed (empty with a TTL of 0). */
  runOnce(): EvictedFeed[]
}

const DAY_MS = 86400 * 1000

export function createRetention(deps: RetentionDeps, options: RetentionOptions): Retention {
  if (!Number.isInteger(options.ttlDays) || options.ttlDays < 0)
    throw new RangeError(`ttlDays: expected an integer >= 0, got ${options.ttlDays}`)
  let timer: NodeJS.Timeout | null = null

  const runOnce = (): EvictedFeed[] => {
    if (options.ttlDays === 0) return []
    const cutoffMs = deps.clock.now() - options.ttlDays * DAY_MS
    const evicted = deps.store.evictReceivedBefore(cutoffMs)
    if (evicted.length > 0) {
      const messages = evicted.reduce((n, e) => n + e.messages, 0)
      deps.log.info({ feeds: evicted.length, messages }, 'evicted messages past the retention TTL')
    }
    deps.onEvicted?.(evicted)
    return evicted
  }

  return {
    start() {
      if (options.ttlDays === 0 || timer !== null) return
      timer = setInterval(() => {
        try {
          runOnce()
        } catch (err) {
          // A failed run leaves the database as it was (one transaction); the next one retries.
          deps.log.error({ err }, 'eviction failed; retrying at the next interval')
        }
      }, options.intervalMs)
      timer.unref() // the servers keep the process alive, not this timer
    },
    stop() {
      if (timer !== null) clearInterval(timer)
      timer = null
    },
    runOnce,
  }
}
