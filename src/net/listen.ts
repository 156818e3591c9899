/**
 * Incoming secure connections (PROTOCOL.md §4.11, §3.2): at most 64 connections in the handshake
 * or pull phase (extra ones closed at once, nothing sent), the server handshake, our own identity
 * refused, and every failure confined to its connection.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { silentLogger, type Logger } from '../log.js'
import {
  INCOMING_CONNECTION_BUDGET_MS,
  MAX_INCOMING_CONNECTIONS,
  READ_TIMEOUT_MS,
  bytesEqual,
} from '../codec/index.js'
import { createHandshake, type Identity } from '../crypto/index.js'
import { runHandshake } from './handshake-io.js'
import {
  createSecureConnection,
  type SecureConnection,
  type SecureConnectionOptions,
} from './secure-connection.js'

/** How and as whom to listen. */
export interface ListenOptions {
  readonly host: string
  /** 0 lets the OS choose (tests). */
  readonly port: number
  readonly identity: Identity
  /** K = SHA-256(network key string), 32 bytes (§3.1). */
  readonly networkKey: Uint8Array
  /** Connections in the handshake or pull phase at once (default 64, §4.11). */
  readonly maxConnections?: number
  /** The handshake must finish within this (default 120 s, the incoming connection budget). */
  readonly handshakeTimeoutMs?: number
  /** Each read, during and after the handshake (default 15 s). */
  readonly readTimeoutMs?: number
  /** Receives every authenticated connection; a throw or rejection closes that connection. */
  readonly onConnection: (connection: SecureConnection) => void | Promise<void>
  readonly log?: Logger
  /** Options passed on to each secure connection. */
  readonly connection?: Omit<
    SecureConnectionOptions,
    'log' | 'queue' | 'readTimeoutMs' | 'onRelease'
  >
}

/** A listening gossip server. */
export interface SecureServer {
  /** The bound address (the real port when listening on 0). */
  address(): AddressInfo
  /** Connections currently counted against `maxConnections`. */
  readonly activeConnections: number
  /** Stop accepting, drop unfinished handshakes, close established connections politely. */
  close(): Promise<void>
}

/** Start listening; resolves once bound. Rejects with the listen error (e.g. EADDRINUSE). */
export async function listenSecure(options: ListenOptions): Promise<SecureServer> {
  const log = (options.log ?? silentLogger).child({ component: 'gossip-server' })
  const max = options.maxConnections ?? MAX_INCOMING_CONNECTIONS
  const readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS
  const handshaking = new Set<Socket>()
  const connections = new Set<SecureConnection>()
  let active = 0
  let closing = false

  async function accept(socket: Socket, release: () => void): Promise<void> {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    handshaking.add(socket)
    let outcome
    try {
      outcome = await runHandshake(
        socket,
        createHandshake({
          role: 'server',
          identity: options.identity,
          networkKey: options.networkKey,
        }),
        { readTimeoutMs, timeoutMs: options.handshakeTimeoutMs ?? INCOMING_CONNECTION_BUDGET_MS },
      )
    } catch (err) {
      const e = err as Error & { code?: string }
      const level = closing ? 'debug' : 'warn' // handshakes cut short by our own shutdown
      log[level]({ remote, code: e.code, err: e.message }, 'incoming handshake failed')
      socket.destroy()
      release()
      return
    } finally {
      handshaking.delete(socket)
    }
    const { result, queue } = outcome
    if (closing || bytesEqual(result.remotePublicKey, options.identity.publicKey)) {
      if (!closing) log.info({ remote }, 'closing a connection from our own identity')
      socket.destroy()
      release()
      return
    }
    const conn = createSecureConnection(socket, result, {
      ...options.connection,
      readTimeoutMs,
      queue,
      log,
      onRelease: release,
    })
    connections.add(conn)
    void conn.closed.then(() => connections.delete(conn))
    log.debug({ remote, peer: result.remoteId }, 'incoming handshake complete')
    try {
      await options.onConnection(conn)
    } catch (err) {
      log.warn({ remote, err: (err as Error).message }, 'connection handler failed')
      conn.destroy(err instanceof Error ? err : new Error(String(err)))
    }
  }

  function onSocket(socket: Socket): void {
    socket.on('error', () => undefined) // reported by the handshake or the connection; never fatal
    if (closing || active >= max) {
      // §4.11: closed at once, nothing sent, no queueing.
      log.warn({ remote: socket.remoteAddress, limit: max }, 'connection limit reached; closing')
      socket.destroy()
      return
    }
    active++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      active--
    }
    socket.setNoDelay(true)
    void accept(socket, release).catch((err: unknown) => {
      // accept() handles its own errors; this is a last guard so nothing escapes as unhandled
      log.error({ err: String(err) }, 'unexpected error accepting a connection')
      socket.destroy()
      release()
    })
  }

  const server = createServer({ pauseOnConnect: true }, onSocket)
  server.on('error', (err) => log.error({ err: err.message }, 'gossip server error'))
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', onError)
      resolve()
    })
  })

  return {
    address: () => server.address() as AddressInfo,
    get activeConnections() {
      return active
    },
    async close() {
      if (closing) return
      closing = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of handshaking) s.destroy()
      await Promise.allSettled([...connections].map((c) => c.close()))
      await stopped
    },
  }
}
