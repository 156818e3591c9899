/**
 * Received application messages waiting for the reader of a secure connection (PROTOCOL.md
 * §3.5.3): a FIFO with its byte total, and the pending `receive()` calls it hands messages to.
 */

/**
 * What one queued message is charged beyond its bytes (object and bookkeeping), so that a peer
 * sending tiny messages cannot queue millions of objects under the byte limit.
 */
export const INBOX_ENTRY_OVERHEAD_BYTES = 128

interface Waiter {
  resolve(message: Uint8Array | null): void
  reject(err: Error): void
}

/** Messages in arrival order plus waiting readers; at most one of the two is non-empty. */
export interface Inbox {
  /** Approximate memory held: message bytes plus a fixed overhead each (for backpressure). */
  readonly bytes: number
  /** Readers currently waiting for a message. */
  readonly waiting: number
  /** A message arrived: hand it to the first waiting reader or keep it. */
  put(message: Uint8Array): void
  /** The next message, `null` once `end` was called and nothing is left, or the end error. */
  take(): Promise<Uint8Array | null>
  /** The next message if one is queued now (no promise), else `undefined`. */
  shift(): Uint8Array | undefined
  /** No more messages will come; waiting readers get `null` (or `error`). */
  end(error: Error | null): void
}

/** An empty inbox. */
export function createInbox(): Inbox {
  let items: Uint8Array[] = []
  let head = 0
  let bytes = 0
  const waiters: Waiter[] = []
  let ended = false
  let endError: Error | null = null

  return {
    get bytes() {
      return bytes
    },
    get waiting() {
      return waiters.length
    },
    put(message) {
      const w = waiters.shift()
      if (w !== undefined) {
        w.resolve(message)
        return
      }
      items.push(message)
      bytes += message.length + INBOX_ENTRY_OVERHEAD_BYTES
    },
    take() {
      const m = this.shift()
      if (m !== undefined) return Promise.resolve(m)
      if (ended) return endError === null ? Promise.resolve(null) : Promise.reject(endError)
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }))
    },
    shift() {
      if (head === items.length) return undefined
      const m = items[head] as Uint8Array
      head++
      bytes -= m.length + INBOX_ENTRY_OVERHEAD_BYTES
      if (head === items.length) {
        items = []
        head = 0
      } else if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head) // amortised O(1) per message
        head = 0
      }
      return m
    },
    end(error) {
      if (ended) return
      ended = true
      endError = error
      for (const w of waiters.splice(0)) {
        if (error === null) w.resolve(null)
        else w.reject(error)
      }
    },
  }
}
