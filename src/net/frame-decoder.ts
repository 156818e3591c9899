/**
 * Incremental box-stream reader, no sockets (PROTOCOL.md §3.5.1–§3.5.3): length prefix, the
 * receiver checks of §3.5.2 in order, decryption in place, reassembly of application messages.
 */
import { Buffer } from 'node:buffer'
import { EgregoreError } from '../errors.js'
import { BOX_HEADER_BYTES, MAX_MESSAGE_BYTES } from '../codec/index.js'
import {
  checkFrameLength,
  checkFrameSize,
  createBoxDecryptor,
  createMessageAssembler,
  type BoxStreamKeys,
  type BoxStreamOptions,
} from '../crypto/index.js'
import { createByteQueue, type ByteQueue } from './byte-queue.js'

/** Where the reader stands: nothing buffered, part of a length prefix, or inside a frame. */
export type DecoderPhase = 'idle' | 'length' | 'frame'

/** Options of the frame decoder. */
export interface FrameDecoderOptions extends BoxStreamOptions {
  /** Reassembly cap (default 131072, §3.5.3). */
  readonly maxMessageBytes?: number
  /** Bytes already received (e.g. left over after the handshake); decoded first. */
  readonly queue?: ByteQueue
  /**
   * Buffers for multi-frame messages whose frames span received chunks (default: new Uint8Array);
   * frames within one chunk are reassembled in place.
   */
  readonly allocate?: (length: number) => Uint8Array
}

/** Decodes one direction of a box stream from arbitrarily chunked bytes. */
export interface FrameDecoder {
  /** Add received bytes; the decoder owns them and decrypts in place. */
  push(chunk: Uint8Array): void
  /**
   * Decode every complete frame buffered, calling `onMessage` for each finished message. Returns
   * `'goodbye'` once the peer's goodbye was read (nothing after it is decoded), else `'more'`.
   * Throws `DECODE_ERROR` / `FRAME_TOO_LARGE` for the fatal conditions of §3.5.2 and §3.5.3.
   */
  decode(onMessage: (message: Uint8Array) => void): 'goodbye' | 'more'
  /** The peer closed its side: throws `IO_ERROR` when that happened inside a frame. */
  end(): void
  readonly phase: DecoderPhase
  /** Frames read so far (a progress counter for read timeouts). */
  readonly framesRead: number
}

/** A decoder for the direction whose keys and initial nonce are `keys`. */
export function createFrameDecoder(
  keys: BoxStreamKeys,
  options: FrameDecoderOptions = {},
): FrameDecoder {
  const decryptor = createBoxDecryptor(keys, options)
  const assembler = createMessageAssembler(
    options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
    options.allocate,
  )
  const queue = options.queue ?? createByteQueue()
  let pendingLength = -1 // length of the frame being read, -1 while reading a prefix
  let framesRead = 0
  let goodbye = false
  let lastSource: Uint8Array | null = null // the received chunk the previous frame was a view of

  /** One frame: 'goodbye', a message, null (incomplete message), or undefined (need bytes). */
  function decodeOne(): 'goodbye' | Uint8Array | null | undefined {
    if (pendingLength < 0) {
      if (queue.length < 4) return undefined
      const length = queue.peekUint32be()
      checkFrameLength(length) // before reading the frame: never allocate from it unchecked
      queue.skip(4)
      pendingLength = length
    }
    if (queue.length < pendingLength) return undefined
    const frame = queue.take(pendingLength)
    // Frames taken as views of one received chunk are adjacent: the assembler may then build a
    // multi-frame message in place over the consumed prefix and header bytes between them.
    const source = queue.lastTakeSource
    const adjacent = source !== null && source === lastSource
    lastSource = source
    pendingLength = -1
    framesRead++
    checkFrameSize(frame.length)
    const bodyLength = decryptor.openFrameHeader(frame.subarray(0, BOX_HEADER_BYTES))
    if (bodyLength < 0) return 'goodbye'
    if (frame.length - BOX_HEADER_BYTES !== bodyLength) {
      throw new EgregoreError(
        'DECODE_ERROR',
        `body length mismatch: header says ${bodyLength}, frame carries ${frame.length - BOX_HEADER_BYTES}`,
      )
    }
    const body = frame.subarray(BOX_HEADER_BYTES)
    decryptor.openFrameBody(body)
    if (body.length === 0) throw new EgregoreError('DECODE_ERROR', 'empty frame payload')
    return assembler.push(body, adjacent)
  }

  return {
    push(chunk) {
      if (!goodbye) queue.push(chunk)
    },
    decode(onMessage) {
      while (!goodbye) {
        const r = decodeOne()
        if (r === undefined) return 'more'
        if (r === 'goodbye') {
          goodbye = true
          queue.clear()
        } else if (r !== null) onMessage(r)
      }
      return 'goodbye'
    },
    end() {
      if (goodbye || (queue.length === 0 && pendingLength < 0)) return
      const inside = pendingLength < 0 ? 'a length prefix' : 'a frame'
      throw new EgregoreError('IO_ERROR', `connection closed inside ${inside}`)
    },
    get phase(): DecoderPhase {
      if (pendingLength >= 0) return 'frame'
      return queue.length === 0 ? 'idle' : 'length'
    },
    get framesRead() {
      return framesRead
    },
  }
}

/** Decode a whole byte string (tests, vectors): the messages and whether a goodbye ended it. */
export function decodeAll(
  keys: BoxStreamKeys,
  wire: Uint8Array,
): { messages: Uint8Array[]; goodbye: boolean } {
  const decoder = createFrameDecoder(keys)
  decoder.push(Buffer.from(wire)) // a copy: decoding happens in place
  const messages: Uint8Array[] = []
  const goodbye = decoder.decode((m) => messages.push(m)) === 'goodbye'
  if (!goodbye) decoder.end()
  return { messages, goodbye }
}
