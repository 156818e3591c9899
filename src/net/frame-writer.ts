/**
 * The sending half of a secure connection (PROTOCOL.md §3.5.1, §3.5.3, §3.6): messages encrypted
 * in call order straight into shared batch buffers (one socket write per batch, not per message),
 * a byte budget that waits for 'drain', goodbye.
 */
import { Buffer } from 'node:buffer'
import type { Duplex } from 'node:stream'
import { EgregoreError } from '../errors.js'
import { MAX_MESSAGE_BYTES } from '../codec/index.js'
import {
  encodeGoodbye,
  encodeMessageInto,
  messageWireLength,
  type BoxEncryptor,
} from '../crypto/index.js'
import { asView } from './slab.js'

/** Writes application messages to one socket. */
export interface FrameWriter {
  /**
   * Encrypt and write one message. Resolves once the socket holds at most the byte budget (a
   * slow reader slows the caller); rejects with `FRAME_TOO_LARGE`, `CLOSED` or the abort error.
   */
  send(payload: Uint8Array): Promise<void>
  /** After the sends already waiting: goodbye, then end our side (§3.6). Never rejects. */
  finish(): Promise<void>
  /** Fail every waiting send with `err`; later sends fail with it too. */
  abort(err: Error): void
}

/** Options of the writer. */
export interface FrameWriterOptions {
  /** Bytes held (socket queue plus unwritten batch) before `send` waits for 'drain'. */
  readonly highWaterMarkBytes: number
  /** Size of a batch buffer (default 64 KiB); a message that does not fit gets its own buffer. */
  readonly batchBytes?: number
}

interface Waiter {
  readonly resolve: () => void
  readonly reject: (err: Error) => void
}

interface QueuedSend extends Waiter {
  readonly payload: Uint8Array
}

const DEFAULT_BATCH_BYTES = 64 * 1024
const RESOLVED: Promise<void> = Promise.resolve()

/**
 * A writer over `socket`; installs its own 'drain' listener.
 *
 * Messages are encrypted into the free tail of the current batch buffer; the filled part is
 * written when the buffer is full, when the budget is reached, and at the end of the tick (so
 * the messages of one tick leave in as few writes as fit). A written range is never touched
 * again: later messages go after it, and a full buffer is replaced, never reused (a stream may
 * keep the chunks it is given; the kernel's copy is only a `net.Socket` detail).
 */
export function createFrameWriter(
  socket: Duplex,
  encryptor: BoxEncryptor,
  options: FrameWriterOptions,
): FrameWriter {
  const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES
  let batch: Uint8Array = new Uint8Array(0)
  let written = 0 // batch[0, written) is with the socket
  let filled = 0 // batch[written, filled) is encrypted, not yet written
  let flushScheduled = false
  let needDrain = false
  let aborted: Error | null = null
  let drainWaiters: Waiter[] = []
  const queued: QueuedSend[] = [] // sends that arrived while waiting for 'drain', in call order

  const waitDrain = (): Promise<void> =>
    new Promise((resolve, reject) => drainWaiters.push({ resolve, reject }))

  /** Write the encrypted, unwritten bytes. */
  function flush(): void {
    if (filled === written) return
    socket.write(batch.subarray(written, filled))
    written = filled
  }

  function flushLater(): void {
    flushScheduled = false
    if (aborted === null && socket.writable) flush()
  }

  /** Room for `length` bytes at `batch[filled]`: flush and start a new buffer when needed. */
  function reserve(length: number): void {
    if (batch.length - filled >= length) return
    flush()
    batch = asView(Buffer.allocUnsafeSlow(Math.max(batchBytes, length)))
    written = 0
    filled = 0
  }

  function check(): void {
    if (aborted !== null) throw aborted
    if (!socket.writable) throw new EgregoreError('CLOSED', 'connection is closed')
  }

  /** Encrypt and queue one message now; resolves at once, or at 'drain' past the budget. */
  function sendNow(payload: Uint8Array): Promise<void> {
    try {
      check()
      reserve(messageWireLength(payload.length))
      filled = encodeMessageInto(encryptor, payload, batch, filled)
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    if (socket.writableLength + (filled - written) > options.highWaterMarkBytes) {
      // Past the budget: write everything, and wait if the socket has promised a 'drain'.
      flush()
      if (socket.writableNeedDrain) {
        needDrain = true
        return waitDrain()
      }
    }
    if (!flushScheduled && filled > written) {
      flushScheduled = true
      setImmediate(flushLater)
    }
    return RESOLVED
  }

  /** Sends that waited for 'drain' go out in call order until the budget is reached again. */
  function pump(): void {
    while (!needDrain && queued.length > 0) {
      const q = queued.shift() as QueuedSend
      sendNow(q.payload).then(q.resolve, q.reject)
    }
  }

  socket.on('drain', () => {
    needDrain = false
    const ws = drainWaiters
    drainWaiters = []
    for (const w of ws) w.resolve()
    pump()
  })

  return {
    send(payload) {
      if (payload.length > MAX_MESSAGE_BYTES) {
        const text = `message too large to send: ${payload.length} bytes (max ${MAX_MESSAGE_BYTES})`
        return Promise.reject(new EgregoreError('FRAME_TOO_LARGE', text))
      }
      if (aborted !== null) return Promise.reject(aborted)
      // Messages keep the order of the send() calls: nobody overtakes a waiting send.
      if (needDrain || queued.length > 0) {
        return new Promise((resolve, reject) => queued.push({ payload, resolve, reject }))
      }
      return sendNow(payload)
    },
    async finish() {
      try {
        while (needDrain || queued.length > 0) await waitDrain()
        check()
        const goodbye = encodeGoodbye(encryptor)
        reserve(goodbye.length)
        batch.set(goodbye, filled)
        filled += goodbye.length
        flush()
        socket.end()
      } catch {
        // the connection failed or closed first; there is nobody left to say goodbye to
      }
    },
    abort(err) {
      aborted ??= err
      for (const w of drainWaiters.splice(0)) w.reject(err)
      for (const q of queued.splice(0)) q.reject(err)
    },
  }
}
