/**
 * A queue of received byte chunks (PROTOCOL.md §3.5.1 reading): exact-length reads return a view
 * when the bytes lie in one chunk and copy only the bytes of a read that spans chunks.
 */
import { Buffer } from 'node:buffer'
import { asView } from './slab.js'

/** Received bytes not yet consumed. Pushed chunks are owned by the queue (and may be mutated). */
export interface ByteQueue {
  readonly length: number
  push(chunk: Uint8Array): void
  /** The u32be at the head, not consumed; requires `length ≥ 4`. */
  peekUint32be(): number
  /** Drop `n` bytes from the head. */
  skip(n: number): void
  /** Remove and return the first `n` bytes (`n ≤ length`): a view if contiguous, else a copy. */
  take(n: number): Uint8Array
  /**
   * The pushed chunk the last `take` returned a view of, or `null` when it returned a copy. Two
   * takes with the same source lie in one chunk, so the bytes between them are stream bytes the
   * queue owned and has consumed.
   */
  readonly lastTakeSource: Uint8Array | null
  /** Forget everything. */
  clear(): void
}

/** An empty queue. */
export function createByteQueue(): ByteQueue {
  let chunks: Uint8Array[] = []
  let head = 0 // index of the first live chunk
  let offset = 0 // bytes already consumed from chunks[head]
  let length = 0
  let lastTakeSource: Uint8Array | null = null

  function advance(n: number): void {
    length -= n
    while (n > 0) {
      const c = chunks[head] as Uint8Array
      const left = c.length - offset
      if (n < left) {
        offset += n
        return
      }
      n -= left
      head++
      offset = 0
    }
    if (head === chunks.length) {
      chunks = []
      head = 0
    } else if (head > 64) {
      chunks = chunks.slice(head) // keep the array short; amortised O(1) per chunk
      head = 0
    }
  }

  function byteAt(i: number): number {
    let k = head
    let at = offset + i
    for (;;) {
      const c = chunks[k] as Uint8Array
      if (at < c.length) return c[at] as number
      at -= c.length
      k++
    }
  }

  return {
    get length() {
      return length
    },
    get lastTakeSource() {
      return lastTakeSource
    },
    push(chunk) {
      if (chunk.length === 0) return
      chunks.push(asView(chunk))
      length += chunk.length
    },
    peekUint32be() {
      if (length < 4) throw new RangeError(`peekUint32be: only ${length} bytes buffered`)
      const c = chunks[head] as Uint8Array
      if (c.length - offset >= 4) {
        return (
          (c[offset] as number) * 0x1000000 +
          (((c[offset + 1] as number) << 16) |
            ((c[offset + 2] as number) << 8) |
            (c[offset + 3] as number))
        )
      }
      return byteAt(0) * 0x1000000 + ((byteAt(1) << 16) | (byteAt(2) << 8) | byteAt(3))
    },
    skip(n) {
      if (n > length) throw new RangeError(`skip: ${n} > ${length} buffered bytes`)
      advance(n)
    },
    take(n) {
      if (n > length) throw new RangeError(`take: ${n} > ${length} buffered bytes`)
      const first = chunks[head]
      if (first !== undefined && first.length - offset >= n) {
        const view = first.subarray(offset, offset + n)
        lastTakeSource = first
        advance(n)
        return view
      }
      lastTakeSource = null
      const out = asView(Buffer.allocUnsafe(n))
      let filled = 0
      for (let k = head; filled < n; k++) {
        const c = chunks[k] as Uint8Array
        const from = k === head ? offset : 0
        const count = Math.min(c.length - from, n - filled)
        out.set(c.subarray(from, from + count), filled)
        filled += count
      }
      advance(n)
      return out
    },
    clear() {
      lastTakeSource = null
      chunks = []
      head = 0
      offset = 0
      length = 0
    },
  }
}
