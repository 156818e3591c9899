/** A fixed-capacity FIFO that drops its oldest item when full (the hook queue of PROTOCOL.md §7.8). */

export interface BoundedQueue<T> {
  /** Items held now. */
  readonly size: number
  /** Append `item`; when the queue was full, the oldest item is removed and returned. */
  push(item: T): T | undefined
  /** Remove and return the oldest item, or `undefined` when empty. */
  shift(): T | undefined
  /** Drop everything; returns how many items were dropped. */
  clear(): number
}

/** A ring buffer of `capacity` slots: push and shift are O(1) however long a burst is. */
export function createBoundedQueue<T>(capacity: number): BoundedQueue<T> {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity: expected a positive integer, got ${String(capacity)}`)
  }
  const slots: (T | undefined)[] = new Array<T | undefined>(capacity).fill(undefined)
  let head = 0
  let size = 0

  const shift = (): T | undefined => {
    if (size === 0) return undefined
    const item = slots[head]
    slots[head] = undefined // release the reference: events carry up to ~90 KiB of text
    head = (head + 1) % capacity
    size--
    return item
  }

  return {
    get size() {
      return size
    },
    push(item) {
      const dropped = size === capacity ? shift() : undefined
      slots[(head + size) % capacity] = item
      size++
      return dropped
    },
    shift,
    clear() {
      const dropped = size
      slots.fill(undefined)
      head = 0
      size = 0
      return dropped
    },
  }
}
