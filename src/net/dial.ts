/**
 * Outgoing secure connections (PROTOCOL.md §3.2, §4.10): TCP connect with its own timeout, the
 * client handshake within the connection budget, then a secure connection.
 */
import { connect, type Socket } from 'node:net'
import { EgregoreError } from '../errors.js'
import { silentLogger, type Logger } from '../log.js'
import {
  OUTGOING_CONNECTION_BUDGET_MS,
  READ_TIMEOUT_MS,
  TCP_CONNECT_TIMEOUT_MS,
  bytesEqual,
} from '../codec/index.js'
import { createHandshake, type Identity } from '../crypto/index.js'
import { runHandshake } from './handshake-io.js'
import {
  createSecureConnection,
  type SecureConnection,
  type SecureConnectionOptions,
} from './secure-connection.js'

/** Where and as whom to dial. */
export interface DialOptions {
  readonly host: string
  readonly port: number
  readonly identity: Identity
  /** K = SHA-256(network key string), 32 bytes (§3.1). */
  readonly networkKey: Uint8Array
  /** TCP connect plus handshake must finish within this (default 60 s). */
  readonly timeoutMs?: number
  /** TCP connect alone (default 10 s). */
  readonly connectTimeoutMs?: number
  /** Each read, during and after the handshake (default 15 s). */
  readonly readTimeoutMs?: number
  readonly signal?: AbortSignal
  readonly log?: Logger
  /** Fixed ephemeral secret (tests only). */
  readonly ephemeralSecret?: Uint8Array
  /** Options passed on to the secure connection. */
  readonly connection?: Omit<SecureConnectionOptions, 'log' | 'queue' | 'readTimeoutMs'>
}

function connectSocket(options: DialOptions, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port })
    const where = `${options.host}:${options.port}`
    const done = (err: Error | null): void => {
      clearTimeout(timer)
      socket.off('connect', onConnect)
      socket.off('error', onError)
      options.signal?.removeEventListener('abort', onAbort)
      if (err === null) {
        resolve(socket)
        return
      }
      socket.destroy()
      reject(err)
    }
    const onConnect = (): void => done(null)
    const onError = (err: Error): void =>
      done(
        new EgregoreError('IO_ERROR', `connect to ${where} failed: ${err.message}`, { cause: err }),
      )
    const onAbort = (): void => done(new EgregoreError('ABORTED', `connect to ${where} aborted`))
    const timer = setTimeout(
      () =>
        done(new EgregoreError('TIMEOUT', `connect to ${where} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    )
    socket.once('connect', onConnect)
    socket.once('error', onError)
    if (options.signal?.aborted === true) onAbort()
    else options.signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Dial `host:port`, run the client handshake and return the secure connection. Rejects with
 * `IO_ERROR` (connect failed), `TIMEOUT`, `ABORTED`, `NETWORK_KEY_MISMATCH` or `HANDSHAKE_FAILED`
 * (including reaching our own identity); the socket is then destroyed.
 */
export async function dialSecure(options: DialOptions): Promise<SecureConnection> {
  const log = (options.log ?? silentLogger).child({ dial: `${options.host}:${options.port}` })
  const budgetMs = options.timeoutMs ?? OUTGOING_CONNECTION_BUDGET_MS
  const started = Date.now()
  const connectMs = Math.min(options.connectTimeoutMs ?? TCP_CONNECT_TIMEOUT_MS, budgetMs)
  const socket = await connectSocket(options, connectMs)
  socket.setNoDelay(true)
  const readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS
  const machine = createHandshake({
    role: 'client',
    identity: options.identity,
    networkKey: options.networkKey,
    ...(options.ephemeralSecret === undefined ? {} : { ephemeralSecret: options.ephemeralSecret }),
  })
  try {
    const { result, queue } = await runHandshake(socket, machine, {
      readTimeoutMs,
      timeoutMs: Math.max(1, budgetMs - (Date.now() - started)),
      budgetMs,
      signal: options.signal,
    })
    if (bytesEqual(result.remotePublicKey, options.identity.publicKey)) {
      throw new EgregoreError('HANDSHAKE_FAILED', 'handshake: the peer is our own identity')
    }
    log.debug({ peer: result.remoteId }, 'handshake complete')
    return createSecureConnection(socket, result, {
      ...options.connection,
      readTimeoutMs,
      queue,
      log: options.log ?? silentLogger,
    })
  } catch (err) {
    socket.destroy()
    log.info({ err: (err as Error).message }, 'outgoing handshake failed')
    throw err
  }
}
