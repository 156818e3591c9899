/**
 * Fixed-window rate limiting per client IP for registration and settings (PROTOCOL.md §9.5).
 * Memory is bounded: at most `maxKeys` windows are tracked; when full, expired windows are swept
 * and, if none expired, the oldest one is forgotten.
 */

export interface RateLimitOptions {
  /** Requests allowed per window. */
  readonly max: number
  readonly windowMs: number
  /** Most keys (client IPs) tracked at once. */
  readonly maxKeys: number
}

export type RateDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSecs: number }

export interface RateLimiter {
  /** Count one request of `key` at `nowMs`; refused once the window's budget is spent. */
  take(key: string, nowMs: number): RateDecision
  /** Keys tracked now (tests). */
  size(): number
}

/** Create a limiter; the clock is the caller's (`nowMs` on every call). */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  if (!Number.isInteger(options.max) || options.max < 1)
    throw new RangeError(`max: expected an integer >= 1, got ${options.max}`)
  if (!(options.windowMs > 0))
    throw new RangeError(`windowMs: expected a positive number, got ${options.windowMs}`)
  // Map order is insertion order; a key is re-inserted when its window restarts, so the first
  // entry always has the oldest window.
  const windows = new Map<string, { startMs: number; count: number }>()

  const makeRoom = (nowMs: number): void => {
    for (const [key, w] of windows) {
      if (nowMs - w.startMs < options.windowMs) break
      windows.delete(key)
    }
    if (windows.size >= options.maxKeys) {
      const oldest = windows.keys().next()
      if (oldest.done !== true) windows.delete(oldest.value)
    }
  }

  return {
    take(key, nowMs) {
      let w = windows.get(key)
      if (w !== undefined && nowMs - w.startMs >= options.windowMs) {
        windows.delete(key)
        w = undefined
      }
      if (w === undefined) {
        if (windows.size >= options.maxKeys) makeRoom(nowMs)
        windows.set(key, { startMs: nowMs, count: 1 })
        return { allowed: true }
      }
      if (w.count < options.max) {
        w.count++
        return { allowed: true }
      }
      const retryAfterSecs = Math.max(1, Math.ceil((w.startMs + options.windowMs - nowMs) / 1000))
      return { allowed: false, retryAfterSecs }
    },
    size: () => windows.size,
  }
}
