/**
 * Runs the handshake state machine over a socket (PROTOCOL.md §3.2, §3.2.2): exact reads, a
 * per-read timeout, an overall budget, abort, and EOF reported with the step and likely cause.
 */
import type { Duplex } from 'node:stream'
import { EgregoreError } from '../errors.js'
import type { Handshake, HandshakeAction, HandshakeResult } from '../crypto/index.js'
import { createByteQueue, type ByteQueue } from './byte-queue.js'

/** Timing of one handshake. */
export interface HandshakeIoOptions {
  /** Each read must complete within this (default of callers: 15 s, §3.2.2). */
  readonly readTimeoutMs: number
  /** The whole handshake must complete within this. */
  readonly timeoutMs: number
  /** The budget named in the timeout error when `timeoutMs` is what is left of a larger one. */
  readonly budgetMs?: number
  readonly signal?: AbortSignal | undefined
}

/** A completed handshake and the bytes the peer sent after it (first box-stream frames). */
export interface HandshakeOutcome {
  readonly result: HandshakeResult
  readonly queue: ByteQueue
}

type ReadAction = Extract<HandshakeAction, { type: 'read' }>

function eofError(read: ReadAction): EgregoreError {
  const likely =
    read.step === 2 || read.step === 3
      ? 'most likely a different --network-key (a peer drops a hello that fails its HMAC check)' +
        (read.step === 2 ? ', or the server is at its connection limit' : '')
      : read.step === 4
        ? 'the server rejected our auth (an incompatible peer?)'
        : 'the client gave up before the handshake started'
  return new EgregoreError(
    'HANDSHAKE_FAILED',
    `handshake: peer closed the connection while we waited for the ${read.what} (step ${read.step}); ${likely}`,
  )
}

/**
 * Drive `machine` over `socket` until it is done. On success the socket is paused with no
 * listeners of ours left and the unread bytes are returned; on failure the promise rejects and
 * the caller destroys the socket. Never sends anything after a failed check.
 */
export function runHandshake(
  socket: Duplex,
  machine: Handshake,
  options: HandshakeIoOptions,
): Promise<HandshakeOutcome> {
  return new Promise((resolve, reject) => {
    const queue = createByteQueue()
    let waiting: ReadAction | null = null
    let readTimer: NodeJS.Timeout | undefined
    let settled = false

    const cleanup = (): void => {
      settled = true
      clearTimeout(readTimer)
      clearTimeout(budget)
      socket.pause()
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('error', onError)
      socket.off('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const fail = (err: unknown): void => {
      if (settled) return
      cleanup()
      reject(err instanceof Error ? err : new Error(String(err)))
    }
    const onData = (chunk: Uint8Array): void => {
      queue.push(chunk)
      pump()
    }
    const onEnd = (): void =>
      fail(waiting === null ? new EgregoreError('CLOSED', 'peer closed') : eofError(waiting))
    const onClose = (): void => onEnd()
    const onError = (err: Error): void =>
      fail(new EgregoreError('IO_ERROR', `handshake: socket error: ${err.message}`, { cause: err }))
    const onAbort = (): void => fail(new EgregoreError('ABORTED', 'handshake: aborted'))
    const budget = setTimeout(() => {
      const at = waiting === null ? '' : ` (waiting for the ${waiting.what}, step ${waiting.step})`
      fail(
        new EgregoreError(
          'TIMEOUT',
          `handshake: not completed within ${options.budgetMs ?? options.timeoutMs} ms${at}`,
        ),
      )
    }, options.timeoutMs)

    function startRead(read: ReadAction): void {
      waiting = read
      clearTimeout(readTimer)
      readTimer = setTimeout(() => {
        fail(
          new EgregoreError(
            'TIMEOUT',
            `handshake: read timeout waiting for the ${read.what} (step ${read.step}); no data for ${options.readTimeoutMs} ms`,
          ),
        )
      }, options.readTimeoutMs)
    }

    function pump(): void {
      try {
        while (!settled) {
          const action = machine.next()
          if (action.type === 'done') {
            cleanup()
            resolve({ result: action.result, queue })
            return
          }
          if (action.type === 'write') {
            socket.write(action.bytes)
            continue
          }
          if (waiting === null) startRead(action)
          if (queue.length < action.length) return
          // Copied: the machine keeps parts of what it reads, and the chunk may be large.
          const bytes = Uint8Array.from(queue.take(action.length))
          clearTimeout(readTimer)
          waiting = null
          machine.receive(bytes)
        }
      } catch (err) {
        fail(err)
      }
    }

    if (options.signal?.aborted === true) {
      onAbort()
      return
    }
    if (socket.destroyed) {
      fail(
        new EgregoreError('HANDSHAKE_FAILED', 'handshake: the connection closed before it began'),
      )
      return
    }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('error', onError)
    socket.on('close', onClose)
    socket.resume()
    pump()
  })
}
