/**
 * The sending half of a secure connection (PROTOCOL.md §3.5.1, §3.5.3, §3.6): messages encrypted
 * in call order, the writes of one tick coalesced, a byte budget that waits for 'drain', goodbye.
 */
import type { Duplex } from 'node:stream'
import { EgregoreError } from '../errors.js'
import { MAX_MESSAGE_BYTES } from '../codec/index.js'
import {
  encodeGoodbye,
  encodeMessageInto,
  messageWireLength,
  type BoxEncryptor,
} from '../crypto/index.js'

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
  /** Bytes queued in the socket before `send` waits for 'drain'. */
  readonly highWaterMarkBytes: number
  /** Buffers for wire bytes (a slab allocator, so small messages cost no allocation). */
  readonly allocate: (length: number) => Uint8Array
}

interface Waiter {
  resolve(): void
  reject(err: Error): void
}

/** A writer over `socket`; installs its own 'drain' listener. */
export function createFrameWriter(
  socket: Duplex,
  encryptor: BoxEncryptor,
  options: FrameWriterOptions,
): FrameWriter {
  let needDrain = false
  let corked = false
  let aborted: Error | null = null
  let waiters: Waiter[] = []

  const waitDrain = (): Promise<void> =>
    new Promise((resolve, reject) => waiters.push({ resolve, reject }))

  socket.on('drain', () => {
    needDrain = false
    const ws = waiters
    waiters = []
    for (const w of ws) w.resolve()
  })

  function uncork(): void {
    if (!corked) return
    corked = false
    socket.uncork()
  }

  /** Writes of one tick go out together (one writev) once the current microtasks are done. */
  function write(wire: Uint8Array): void {
    if (!corked) {
      corked = true
      socket.cork()
      setImmediate(uncork)
    }
    socket.write(wire)
  }

  function writable(): void {
    if (aborted !== null) throw aborted
    if (!socket.writable) throw new EgregoreError('CLOSED', 'connection is closed')
  }

  return {
    async send(payload) {
      if (payload.length > MAX_MESSAGE_BYTES) {
        const text = `message too large to send: ${payload.length} bytes (max ${MAX_MESSAGE_BYTES})`
        throw new EgregoreError('FRAME_TOO_LARGE', text)
      }
      // Waiters resume in arrival order, so messages keep the order of the send() calls.
      while (needDrain) await waitDrain()
      writable()
      const wire = options.allocate(messageWireLength(payload.length))
      encodeMessageInto(encryptor, payload, wire, 0)
      write(wire)
      // Past the budget write() has returned false, so 'drain' follows once the socket catches up.
      if (socket.writableLength > options.highWaterMarkBytes) {
        needDrain = true
        uncork()
        await waitDrain()
      }
    },
    async finish() {
      try {
        while (needDrain) await waitDrain()
        writable()
        socket.write(encodeGoodbye(encryptor))
        uncork()
        socket.end()
      } catch {
        // the connection failed or closed first; there is nobody left to say goodbye to
      }
    },
    abort(err) {
      aborted ??= err
      for (const w of waiters.splice(0)) w.reject(err)
    },
  }
}
