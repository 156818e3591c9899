/**
 * Application messages over the box stream (PROTOCOL.md §3.5.1, §3.5.3): `u32be(len) ‖ frame`
 * on the wire, payloads cut into 4095-byte chunks behind a continuation flag, and reassembly.
 */
import { EgregoreError } from '../errors.js'
import { BOX_HEADER_BYTES, CHUNK_SIZE, MAX_MESSAGE_BYTES } from '../codec/index.js'
import { uint32be, type State } from './box-stream-codec.js'
import type { BoxEncryptor } from './box-stream.js'

/** Flag byte before each chunk: more chunks follow. */
export const FLAG_MORE = 0x01
/** Flag byte before the last (or only) chunk. */
export const FLAG_LAST = 0x00

const PREFIX_BYTES = 4
const GOODBYE_WIRE_BYTES = PREFIX_BYTES + BOX_HEADER_BYTES

/** Frames a payload of this many bytes needs (an empty payload still takes one). */
export function messageFrameCount(payloadLength: number): number {
  return Math.max(1, Math.ceil(payloadLength / CHUNK_SIZE))
}

/** Bytes on the wire for one application message: per frame 4 + 34 + 1 + chunk. */
export function messageWireLength(payloadLength: number): number {
  return messageFrameCount(payloadLength) * (PREFIX_BYTES + BOX_HEADER_BYTES + 1) + payloadLength
}

function checkPayload(payload: Uint8Array): void {
  if (payload.length > MAX_MESSAGE_BYTES) {
    throw new EgregoreError(
      'FRAME_TOO_LARGE',
      `message too large to send: ${payload.length} bytes (max ${MAX_MESSAGE_BYTES})`,
    )
  }
}

/**
 * Encrypt `payload` as one application message into `out` at `offset` (which must hold
 * `messageWireLength(payload.length)` bytes). Throws `FRAME_TOO_LARGE` above 131072 bytes, before
 * any nonce is used. Returns the offset after the last frame.
 */
export function encodeMessageInto(
  encryptor: BoxEncryptor,
  payload: Uint8Array,
  out: Uint8Array,
  offset: number,
): number {
  checkPayload(payload)
  const frames = messageFrameCount(payload.length)
  const s: State = { buffer: out, start: offset, end: out.length }
  for (let i = 0; i < frames; i++) {
    const chunk = payload.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)
    const bodyLength = 1 + chunk.length
    uint32be.encode(s, BOX_HEADER_BYTES + bodyLength)
    const frameStart = s.start
    out[frameStart + BOX_HEADER_BYTES] = i === frames - 1 ? FLAG_LAST : FLAG_MORE
    out.set(chunk, frameStart + BOX_HEADER_BYTES + 1)
    s.start += encryptor.sealFrameInPlace(out, frameStart, bodyLength)
  }
  return s.start
}

/** Encrypt `payload` as one application message; returns its wire bytes (all frames). */
export function encodeMessage(encryptor: BoxEncryptor, payload: Uint8Array): Uint8Array {
  checkPayload(payload)
  const out = new Uint8Array(messageWireLength(payload.length))
  encodeMessageInto(encryptor, payload, out, 0)
  return out
}

/** The goodbye on the wire: `u32be(34) ‖ goodbye` (§3.4). */
export function encodeGoodbye(encryptor: BoxEncryptor): Uint8Array {
  const out = new Uint8Array(GOODBYE_WIRE_BYTES)
  uint32be.encode({ buffer: out, start: 0, end: PREFIX_BYTES }, BOX_HEADER_BYTES)
  out.set(encryptor.sealGoodbye(), PREFIX_BYTES)
  return out
}

/** Reassembles frame bodies (`flag ‖ chunk`) into application messages. */
export interface MessageAssembler {
  /**
   * Add one decrypted frame body. Returns the message when this was its last chunk, else `null`.
   * A single-chunk message is a view into `body` (no copy). Throws `DECODE_ERROR` for a flag
   * other than 0x00/0x01 and `FRAME_TOO_LARGE` when the message would exceed the limit.
   *
   * `adjacent`: the caller vouches that `body` lies in the same buffer as the previous body of
   * this message, after it, and that every byte between the two belongs to frames it has consumed
   * (the caller owns them; they may be overwritten). The chunk is then moved back onto those bytes,
   * so a message whose frames all arrive adjacent is a view too: no allocation, and only the bytes
   * of its later chunks are copied (1 byte for a 4096-byte payload).
   */
  push(body: Uint8Array, adjacent?: boolean): Uint8Array | null
  /** Bytes of an unfinished message held so far. */
  readonly pendingBytes: number
}

/**
 * A reassembler capped at `maxBytes` (default 131072, §3.5.3). `allocate` provides the buffer of a
 * multi-chunk message that could not be assembled in place (default: a new Uint8Array). Held
 * chunks are views of the pushed bodies.
 */
export function createMessageAssembler(
  maxBytes = MAX_MESSAGE_BYTES,
  allocate: (length: number) => Uint8Array = (n) => new Uint8Array(n),
): MessageAssembler {
  let run: Uint8Array | null = null // the chunks so far, compacted in place into one view
  let parts: Uint8Array[] = [] // or, once a chunk was not adjacent, the chunks to copy at the end
  let total = 0

  /** Move `chunk` back so that it directly follows `prefix` (same buffer, `chunk` after it). */
  function compact(prefix: Uint8Array, chunk: Uint8Array): Uint8Array {
    const base = prefix.byteOffset
    const from = chunk.byteOffset - base
    const span = new Uint8Array(prefix.buffer, base, from + chunk.length)
    span.copyWithin(prefix.length, from, from + chunk.length)
    return span.subarray(0, prefix.length + chunk.length)
  }

  function finish(): Uint8Array {
    let out: Uint8Array
    if (run !== null) out = run
    else {
      out = allocate(total)
      let at = 0
      for (const p of parts) {
        out.set(p, at)
        at += p.length
      }
    }
    run = null
    parts = []
    total = 0
    return out
  }

  return {
    push(body, adjacent = false) {
      const flag = body[0]
      if (flag !== FLAG_MORE && flag !== FLAG_LAST) {
        throw new EgregoreError('DECODE_ERROR', `invalid continuation prefix: ${flag ?? 'none'}`)
      }
      const chunk = body.subarray(1)
      if (total + chunk.length > maxBytes) {
        throw new EgregoreError(
          'FRAME_TOO_LARGE',
          `assembled message too large: more than ${maxBytes} bytes`,
        )
      }
      if (total === 0 && run === null && parts.length === 0) {
        if (flag === FLAG_LAST) return chunk // a single-chunk message: a view, nothing held
        run = chunk
      } else if (
        run !== null &&
        adjacent &&
        chunk.buffer === run.buffer &&
        chunk.byteOffset >= run.byteOffset + run.length
      ) {
        run = compact(run, chunk)
      } else {
        if (run !== null) parts.push(run)
        run = null
        parts.push(chunk)
      }
      total += chunk.length
      return flag === FLAG_LAST ? finish() : null
    },
    get pendingBytes() {
      return total
    },
  }
}
