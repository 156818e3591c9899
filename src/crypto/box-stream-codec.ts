/**
 * Binary layouts of the transport in the State/Codec shape (STYLE.md §6): big-endian integers,
 * fixed byte strings, the frame length prefix and the box-stream header (PROTOCOL.md §3.4, §3.5).
 */
import { EgregoreError } from '../errors.js'
import { BOX_HEADER_BYTES, BOX_HEADER_PLAINTEXT_BYTES, MAX_FRAME_LENGTH } from '../codec/index.js'

/** A cursor over a buffer: `start` is the read/write position, `end` the limit. */
export interface State {
  buffer: Uint8Array
  start: number
  end: number
}

/** Three functions over a cursor: size, write, bounds-checked read. */
export interface Codec<T> {
  preencode(state: State, value: T): void
  encode(state: State, value: T): void
  decode(state: State): T
}

function need(state: State, n: number, what: string): void {
  if (state.end - state.start < n) {
    throw new EgregoreError(
      'DECODE_ERROR',
      `${what}: expected ${n} bytes, got ${state.end - state.start}`,
    )
  }
}

/** Unsigned 16-bit big-endian integer. */
export const uint16be: Codec<number> = {
  preencode: (s) => void (s.end += 2),
  encode: (s, v) => {
    s.buffer[s.start++] = (v >>> 8) & 0xff
    s.buffer[s.start++] = v & 0xff
  },
  decode: (s) => {
    need(s, 2, 'uint16be')
    const b = s.buffer
    const v = ((b[s.start] as number) << 8) | (b[s.start + 1] as number)
    s.start += 2
    return v
  },
}

/** Unsigned 32-bit big-endian integer. */
export const uint32be: Codec<number> = {
  preencode: (s) => void (s.end += 4),
  encode: (s, v) => {
    const b = s.buffer
    b[s.start++] = (v >>> 24) & 0xff
    b[s.start++] = (v >>> 16) & 0xff
    b[s.start++] = (v >>> 8) & 0xff
    b[s.start++] = v & 0xff
  },
  decode: (s) => {
    need(s, 4, 'uint32be')
    const v = readUint32be(s.buffer, s.start)
    s.start += 4
    return v
  },
}

/** Read a u32be at `offset` without a cursor (the caller has checked the bounds). */
export function readUint32be(b: Uint8Array, offset: number): number {
  return (
    (b[offset] as number) * 0x1000000 +
    (((b[offset + 1] as number) << 16) |
      ((b[offset + 2] as number) << 8) |
      (b[offset + 3] as number))
  )
}

/** A fixed-length byte string; `decode` returns a view into the buffer (no copy). */
export function fixed(length: number): Codec<Uint8Array> {
  return {
    preencode: (s) => void (s.end += length),
    encode: (s, v) => {
      if (v.length !== length) throw new RangeError(`expected ${length} bytes, got ${v.length}`)
      s.buffer.set(v, s.start)
      s.start += length
    },
    decode: (s) => {
      need(s, length, `fixed(${length})`)
      const v = s.buffer.subarray(s.start, s.start + length)
      s.start += length
      return v
    },
  }
}

/** Encode one value into a new buffer of exactly its size. */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const sizing: State = { buffer: new Uint8Array(0), start: 0, end: 0 }
  codec.preencode(sizing, value)
  const state: State = { buffer: new Uint8Array(sizing.end), start: 0, end: sizing.end }
  codec.encode(state, value)
  return state.buffer
}

/** Decode a whole buffer; trailing bytes are a `DECODE_ERROR`. */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
  const state: State = { buffer: bytes, start: 0, end: bytes.length }
  const value = codec.decode(state)
  if (state.start !== state.end) {
    throw new EgregoreError('DECODE_ERROR', `${state.end - state.start} trailing bytes`)
  }
  return value
}

/** Decrypted box-stream header: body length and the body's Poly1305 tag (§3.4). */
export interface BoxHeader {
  readonly bodyLength: number
  readonly bodyTag: Uint8Array
}

const tag16 = fixed(16)

/** `u16be(|b|) ‖ body_tag`, 18 bytes. */
export const boxHeader: Codec<BoxHeader> = {
  preencode: (s) => void (s.end += BOX_HEADER_PLAINTEXT_BYTES),
  encode: (s, h) => {
    uint16be.encode(s, h.bodyLength)
    tag16.encode(s, h.bodyTag)
  },
  decode: (s) => ({ bodyLength: uint16be.decode(s), bodyTag: tag16.decode(s) }),
}

/** The length-prefix checks of §3.5.2 (1 and 2) that precede reading a frame. */
export function checkFrameLength(length: number): void {
  if (length === 0) throw new EgregoreError('DECODE_ERROR', 'zero-length frame')
  if (length > MAX_FRAME_LENGTH) {
    throw new EgregoreError(
      'FRAME_TOO_LARGE',
      `frame too large: ${length} bytes (max ${MAX_FRAME_LENGTH})`,
    )
  }
}

/** The check of §3.5.2 (3) once the frame has been read. */
export function checkFrameSize(length: number): void {
  if (length < BOX_HEADER_BYTES) {
    throw new EgregoreError(
      'DECODE_ERROR',
      `frame too small: ${length} bytes (header alone is ${BOX_HEADER_BYTES})`,
    )
  }
}
