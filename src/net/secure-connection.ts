/**
 * A secure connection after the handshake (PROTOCOL.md §3.4–§3.6): application messages sent and
 * received over the box stream with backpressure both ways, per-read timeouts and polite close.
 */
import type { Buffer } from 'node:buffer'
import type { Duplex } from 'node:stream'
import { EgregoreError } from '../errors.js'
import { silentLogger, type Logger } from '../log.js'
import { READ_TIMEOUT_MS, type FeedId } from '../codec/index.js'
import { createBoxEncryptor, type HandshakeResult, type HandshakeRole } from '../crypto/index.js'
import type { ByteQueue } from './byte-queue.js'
import { createFrameDecoder } from './frame-decoder.js'
import { createFrameWriter } from './frame-writer.js'
import { createInbox } from './inbox.js'
import { createReadTimer } from './read-timer.js'
import { createSlabAllocator } from './slab.js'

/** Received-message bytes buffered before the socket is paused (a slow reader slows the peer). */
export const RECEIVE_HIGH_WATER_MARK_BYTES = 1024 * 1024
/** Bytes queued in the socket before `send()` waits for 'drain' (a slow reader slows the writer). */
export const SEND_HIGH_WATER_MARK_BYTES = 256 * 1024
const SLAB_BYTES = 64 * 1024

/** What a secure connection runs on: a TCP socket, or any duplex byte stream (tests). */
export type TransportStream = Duplex & {
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
}

/** Options of a secure connection. */
export interface SecureConnectionOptions {
  /** Each read times out after this (default 15 s, §3.5.4). */
  readonly readTimeoutMs?: number
  /** Persistent link: no timeout while waiting for the next length prefix (§3.5.4). */
  readonly persistent?: boolean
  /** Received bytes held before the socket is paused (default 1 MiB). */
  readonly receiveHighWaterMarkBytes?: number
  /** Bytes queued for the socket before `send()` waits for 'drain' (default 256 KiB). */
  readonly sendHighWaterMarkBytes?: number
  /** How long `close()` waits for the peer to close its side (default: the read timeout). */
  readonly closeTimeoutMs?: number
  readonly log?: Logger
  /** Bytes received after the handshake, decoded before anything else. */
  readonly queue?: ByteQueue
  /** Sees every nonce used, both directions (tests assert they never repeat). */
  readonly onNonce?: (nonce: Uint8Array, direction: 'send' | 'receive') => void
  /** Called once when the connection leaves the handshake/pull phase: persistent or closed. */
  readonly onRelease?: () => void
}

/** An authenticated, encrypted duplex of application messages with one peer. */
export interface SecureConnection extends AsyncIterable<Uint8Array> {
  readonly role: HandshakeRole
  readonly remoteId: FeedId
  readonly remotePublicKey: Uint8Array
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  /** Resolves when the socket has closed: the error that ended it, or `null` for a clean end. */
  readonly closed: Promise<Error | null>
  /**
   * Send one application message (≤ 131072 bytes; `FRAME_TOO_LARGE` otherwise). Resolves once the
   * socket can take more (waits for 'drain'); rejects with `CLOSED` after close, or the I/O error.
   */
  send(payload: Uint8Array): Promise<void>
  /** The next message; `null` after the peer's goodbye or EOF. Rejects with the fatal error. */
  receive(): Promise<Uint8Array | null>
  /** Switch persistent mode (§3.5.4); turning it on also releases a server connection slot. */
  setPersistent(on: boolean): void
  /**
   * Goodbye (after the sends already waiting), then end our side; resolves when the socket is
   * closed (§3.6). Messages already received can still be read; later ones are discarded.
   */
  close(): Promise<void>
  /** Close at once without a goodbye; with a reason, readers see that error. */
  destroy(reason?: Error): void
}

const closedError = (): EgregoreError => new EgregoreError('CLOSED', 'connection is closed')

/** Wrap a socket that has completed `handshake`. The socket must be paused (as runHandshake leaves it). */
export function createSecureConnection(
  socket: TransportStream,
  handshake: HandshakeResult,
  options: SecureConnectionOptions = {},
): SecureConnection {
  const log = (options.log ?? silentLogger).child({ peer: handshake.remoteId })
  const readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS
  const hwm = options.receiveHighWaterMarkBytes ?? RECEIVE_HIGH_WATER_MARK_BYTES
  const sendHwm = options.sendHighWaterMarkBytes ?? SEND_HIGH_WATER_MARK_BYTES
  const allocate = createSlabAllocator(SLAB_BYTES)
  const onNonce = options.onNonce
  const encryptor = createBoxEncryptor(
    handshake.encrypt,
    onNonce === undefined ? {} : { onNonce: (n) => onNonce(n, 'send') },
  )
  const decoder = createFrameDecoder(handshake.decrypt, {
    allocate,
    ...(onNonce === undefined ? {} : { onNonce: (n: Uint8Array) => onNonce(n, 'receive') }),
    ...(options.queue === undefined ? {} : { queue: options.queue }),
  })
  const writer = createFrameWriter(socket, encryptor, { highWaterMarkBytes: sendHwm })
  const inbox = createInbox()
  const remoteAddress = socket.remoteAddress
  const remotePort = socket.remotePort
  let readDone = false
  let writeOpen = true
  let closing = false
  let failed: Error | null = null
  let paused = true
  let persistent = options.persistent ?? false
  let released = false
  let resolveClosed: (err: Error | null) => void = () => undefined
  const closed = new Promise<Error | null>((r) => (resolveClosed = r))
  const timer = createReadTimer(readTimeoutMs, () =>
    fail(
      new EgregoreError('TIMEOUT', `read timeout: nothing from the peer for ${readTimeoutMs} ms`),
    ),
  )

  function release(): void {
    if (released) return
    released = true
    options.onRelease?.()
  }

  function updateTimer(): void {
    const phase = decoder.phase
    const reading = !readDone && !paused
    const want =
      reading && (phase === 'frame' || (!persistent && (phase === 'length' || inbox.waiting > 0)))
    timer.update(want, decoder.framesRead * 2 + (phase === 'frame' ? 1 : 0))
  }

  function setPaused(on: boolean): void {
    if (on === paused) return
    paused = on
    if (on) socket.pause()
    else socket.resume()
  }

  function deliver(message: Uint8Array): void {
    if (closing) return // after close() nothing more is wanted; keep reading only to see EOF
    inbox.put(message)
    if (inbox.bytes > hwm) setPaused(true)
  }

  function endRead(error: Error | null): void {
    if (readDone) return
    readDone = true
    inbox.end(error)
    setPaused(false) // keep reading to see the peer's FIN; further data is ignored
    updateTimer()
  }

  function fail(err: Error, level: 'warn' | 'debug' = 'warn'): void {
    if (failed !== null) return
    failed = err
    writeOpen = false
    log[level](
      { err: err.message, code: (err as Partial<EgregoreError>).code },
      'connection closed',
    )
    endRead(err)
    timer.update(false, 0)
    writer.abort(err)
    socket.destroy()
  }

  function decodeBuffered(): void {
    if (readDone) return
    try {
      if (decoder.decode(deliver) === 'goodbye') {
        log.debug({}, 'peer said goodbye')
        endRead(null)
      }
    } catch (err) {
      fail(err as Error)
    }
    updateTimer()
  }

  function onData(chunk: Buffer): void {
    if (readDone) return
    decoder.push(chunk)
    decodeBuffered()
  }

  function onEnd(): void {
    if (readDone) return
    try {
      decoder.end()
      endRead(null)
    } catch (err) {
      fail(err as Error)
    }
  }

  function onClose(): void {
    writeOpen = false
    timer.update(false, 0)
    endRead(null)
    writer.abort(failed ?? closedError())
    release()
    resolveClosed(failed)
  }

  function send(payload: Uint8Array): Promise<void> {
    return writeOpen ? writer.send(payload) : Promise.reject(closedError())
  }

  async function close(): Promise<void> {
    closing = true
    setPaused(false)
    updateTimer()
    if (writeOpen) {
      writeOpen = false
      await writer.finish()
    }
    const grace = setTimeout(() => socket.destroy(), options.closeTimeoutMs ?? readTimeoutMs)
    await closed
    clearTimeout(grace)
  }

  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.on('close', onClose)
  socket.on('error', (err) =>
    fail(new EgregoreError('IO_ERROR', `socket error: ${err.message}`, { cause: err })),
  )
  decodeBuffered() // bytes that arrived together with the handshake's last message
  if (!readDone) setPaused(false)
  updateTimer()

  const receive = (): Promise<Uint8Array | null> => {
    const p = inbox.take()
    if (paused && !readDone && inbox.bytes <= hwm / 2) setPaused(false)
    updateTimer()
    return p
  }

  /** A message already queued, without a promise of its own (the async iterator's fast path). */
  const receiveQueued = (): Uint8Array | undefined => {
    const m = inbox.shift()
    if (m !== undefined && paused && !readDone && inbox.bytes <= hwm / 2) {
      setPaused(false)
      updateTimer() // only resuming changes what the read timer watches: nobody waits here
    }
    return m
  }

  return {
    role: handshake.role,
    remoteId: handshake.remoteId,
    remotePublicKey: handshake.remotePublicKey,
    remoteAddress,
    remotePort,
    closed,
    send,
    receive,
    setPersistent(on) {
      persistent = on
      if (on) release()
      updateTimer()
    },
    close,
    destroy(reason) {
      if (reason !== undefined) fail(reason, 'debug')
      else {
        writeOpen = false
        endRead(null)
        socket.destroy()
      }
    },
    [Symbol.asyncIterator]() {
      return {
        next: (): Promise<IteratorResult<Uint8Array, undefined>> => {
          const m = receiveQueued()
          if (m !== undefined) return Promise.resolve({ done: false, value: m })
          return receive().then((r): IteratorResult<Uint8Array, undefined> =>
            r === null ? { done: true, value: undefined } : { done: false, value: r },
          )
        },
      }
    },
  }
}
