/**
 * A slab allocator for transport buffers (PROTOCOL.md §3.5): small buffers are carved from a
 * shared slab, so a 4 KiB message costs no ArrayBuffer allocation of its own.
 */
import { Buffer } from 'node:buffer'

/**
 * A plain Uint8Array over the same memory as `bytes`. Views of Buffers are Buffers, and making
 * those (species lookup) costs more than the small crypto calls of a frame.
 */
export function asView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Returns `allocate(length)`: a fresh (uninitialised) view of a slab of `slabBytes`; requests
 * above a quarter of a slab get their own buffer. A view keeps its whole slab alive, so slabs
 * stay small; the memory is never reused while a view exists.
 */
export function createSlabAllocator(slabBytes: number): (length: number) => Uint8Array {
  let slab = new ArrayBuffer(0)
  let used = 0
  return (length) => {
    if (length > slabBytes >>> 2) return asView(Buffer.allocUnsafeSlow(length))
    if (used + length > slab.byteLength) {
      slab = Buffer.allocUnsafeSlow(slabBytes).buffer
      used = 0
    }
    const view = new Uint8Array(slab, used, length)
    used += (length + 7) & ~7 // keep views 8-byte aligned
    return view
  }
}
