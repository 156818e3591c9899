/**
 * Helpers for transport tests on real sockets (127.0.0.1, port 0): fixed identities, a server
 * whose connections can be awaited, connected pairs, raw sockets, a capturing logger, polling.
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import type { TestContext } from 'node:test'
import type { Logger } from '../../../src/log.js'
import {
  createBoxEncryptor,
  createHandshake,
  deriveNetworkKey,
  identityFromSeed,
  type BoxEncryptor,
  type Identity,
} from '../../../src/crypto/index.js'
import {
  dialSecure,
  createSecureConnection,
  listenSecure,
  runHandshake,
  type DialOptions,
  type HandshakeOutcome,
  type ListenOptions,
  type SecureConnection,
  type SecureConnectionOptions,
  type SecureServer,
} from '../../../src/net/index.js'

const seed = (first: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => first + i)
/** Identities A (client in the vectors), B (server), C. */
export const A: Identity = identityFromSeed(seed(0x00))
export const B: Identity = identityFromSeed(seed(0x20))
export const C: Identity = identityFromSeed(seed(0xa0))
/** K of the default network key string. */
export const K: Uint8Array = deriveNetworkKey('egregore-network-v1')

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly obj: Record<string, unknown>
  readonly msg: string
}

/** A logger that keeps every entry (children share the list). */
export function captureLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogEntry['level']) =>
      (obj: object, msg = ''): void => {
        entries.push({ level, obj: { ...bindings, ...obj }, msg })
      }
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (b) => make({ ...bindings, ...b }),
    }
  }
  return Object.assign(make({}), { entries })
}

/** Poll `fn` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  fn: () => T | undefined | null | false,
  { timeoutMs = 5000, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined && v !== null && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export interface TestServer {
  readonly server: SecureServer
  readonly port: number
  readonly log: ReturnType<typeof captureLogger>
  /** The next connection handed to onConnection. */
  nextConnection(): Promise<SecureConnection>
}

/** A server of identity B on 127.0.0.1:0, closed when the test ends. */
export async function startServer(
  t: TestContext,
  options: Partial<Omit<ListenOptions, 'onConnection'>> = {},
): Promise<TestServer> {
  const log = captureLogger()
  const ready: SecureConnection[] = []
  const waiting: ((c: SecureConnection) => void)[] = []
  const server = await listenSecure({
    host: '127.0.0.1',
    port: 0,
    identity: B,
    networkKey: K,
    log,
    ...options,
    onConnection: (c) => {
      const w = waiting.shift()
      if (w) w(c)
      else ready.push(c)
    },
  })
  t.after(() => server.close())
  return {
    server,
    port: server.address().port,
    log,
    nextConnection: () => {
      const c = ready.shift()
      return c ? Promise.resolve(c) : new Promise((r) => waiting.push(r))
    },
  }
}

/** Dial the test server as A; the connection is destroyed when the test ends. */
export async function dial(
  t: TestContext,
  port: number,
  options: Partial<DialOptions> = {},
): Promise<SecureConnection> {
  const c = await dialSecure({ host: '127.0.0.1', port, identity: A, networkKey: K, ...options })
  t.after(() => c.destroy())
  return c
}

/** A connected client (A) / server (B) pair. */
export async function connectPair(
  t: TestContext,
  options: {
    dial?: Partial<DialOptions>
    listen?: Partial<Omit<ListenOptions, 'onConnection'>>
  } = {},
): Promise<{ client: SecureConnection; server: SecureConnection; test: TestServer }> {
  const s = await startServer(t, options.listen)
  const [client, server] = await Promise.all([dial(t, s.port, options.dial), s.nextConnection()])
  t.after(() => server.destroy())
  return { client, server, test: s }
}

export interface RawPeer {
  readonly socket: Socket
  /** Everything received so far. */
  received(): Uint8Array
  /** Resolves when the server closed the socket (end or close). */
  readonly ended: Promise<void>
}

/** A plain TCP socket to `port`, for speaking (or not speaking) the protocol by hand. */
export async function rawConnect(t: TestContext, port: number): Promise<RawPeer> {
  const socket = connect({ host: '127.0.0.1', port })
  const chunks: Uint8Array[] = []
  socket.on('data', (c: Uint8Array) => chunks.push(c))
  socket.on('error', () => undefined) // the server may reset us; that is what some tests expect
  const ended = new Promise<void>((r) => {
    socket.once('end', r)
    socket.once('close', r)
  })
  t.after(() => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return { socket, received: () => Buffer.concat(chunks), ended }
}

/** Fails the test if an unhandled rejection or uncaught exception happens while it runs. */
export function guardProcess(t: TestContext): void {
  const seen: unknown[] = []
  const onProblem = (err: unknown): void => void seen.push(err)
  process.on('unhandledRejection', onProblem)
  process.on('uncaughtException', onProblem)
  t.after(() => {
    process.off('unhandledRejection', onProblem)
    process.off('uncaughtException', onProblem)
    assert.deepEqual(seen, [], 'no unhandled rejection or uncaught exception')
  })
}

/** A round trip over a fresh connection: proves the server still accepts and completes handshakes. */
export async function assertServerHealthy(t: TestContext, port: number): Promise<void> {
  const c = await dial(t, port, { timeoutMs: 5000 })
  assert.equal(c.remoteId, B.id)
  await c.send(new TextEncoder().encode('still alive'))
  await c.close()
}

/** Edits the bytes travelling one way: gets each chunk and its stream offset; null ends the stream. */
export type Tap = (chunk: Uint8Array, offset: number) => Uint8Array | null

/**
 * Two in-memory duplex streams wired to each other (no sockets): what one writes, the other reads.
 * Like TCP sockets without half-open, ending or destroying one side ends the other's input.
 * `taps` (optional) rewrite the bytes from end 0 to end 1 (`forward`) and back (`backward`).
 */
export interface PairTaps {
  forward?: Tap
  backward?: Tap
  /** End the forward / backward direction after exactly this many bytes. */
  cutForwardAt?: number
  cutBackwardAt?: number
}

export function duplexPair(taps: PairTaps = {}): [Duplex, Duplex] {
  const ends: Duplex[] = []
  const offsets = [0, 0]
  const cuts = [false, false]
  const make = (index: 0 | 1): Duplex =>
    new Duplex({
      allowHalfOpen: false,
      read: () => undefined,
      write(chunk: Uint8Array, _encoding, callback) {
        const other = ends[1 - index]!
        if (cuts[index] === true || other.destroyed) return callback()
        const tap = index === 0 ? taps.forward : taps.backward
        const cutAt = (index === 0 ? taps.cutForwardAt : taps.cutBackwardAt) ?? Infinity
        const at = offsets[index]!
        let bytes: Uint8Array | null = Uint8Array.from(chunk)
        if (tap) bytes = tap(bytes, at)
        offsets[index]! += chunk.length
        if (bytes !== null && at + bytes.length >= cutAt) {
          if (cutAt > at) other.push(bytes.subarray(0, cutAt - at))
          bytes = null
        }
        if (bytes === null) {
          cuts[index] = true
          other.push(null)
        } else if (bytes.length > 0) other.push(bytes)
        callback()
      },
      final(callback) {
        if (cuts[index] !== true) ends[1 - index]!.push(null)
        cuts[index] = true
        callback()
      },
      destroy(err, callback) {
        if (cuts[index] !== true) ends[1 - index]!.push(null)
        cuts[index] = true
        callback(err)
      },
    })
  ends.push(make(0), make(1))
  return [ends[0]!, ends[1]!]
}

/** Run both handshake roles over an in-memory pair (end 0 = client); settles each side separately. */
export async function handshakeOverPair(
  taps: PairTaps = {},
  options: { readTimeoutMs?: number; clientKey?: Uint8Array } = {},
): Promise<{
  client: PromiseSettledResult<HandshakeOutcome>
  server: PromiseSettledResult<HandshakeOutcome>
  streams: [Duplex, Duplex]
}> {
  const streams = duplexPair(taps)
  const io = { readTimeoutMs: options.readTimeoutMs ?? 1000, timeoutMs: 5000 }
  const run = (role: 'client' | 'server', stream: Duplex): Promise<HandshakeOutcome> => {
    const networkKey = role === 'client' ? (options.clientKey ?? K) : K
    const identity = role === 'client' ? A : B
    return runHandshake(stream, createHandshake({ role, identity, networkKey }), io).catch(
      (err: unknown) => {
        stream.destroy() // as dial/listen do: a failed side closes, which the other side sees
        throw err
      },
    )
  }
  const [client, server] = await Promise.allSettled([
    run('client', streams[0]),
    run('server', streams[1]),
  ])
  return { client, server, streams }
}

/** Two secure connections over an in-memory pair (client end 0, server end 1), destroyed at test end. */
export async function connectionPairInMemory(
  t: TestContext,
  options: {
    client?: SecureConnectionOptions
    server?: SecureConnectionOptions
    taps?: PairTaps
  } = {},
): Promise<{ client: SecureConnection; server: SecureConnection; streams: [Duplex, Duplex] }> {
  const r = await handshakeOverPair(options.taps)
  assert.ok(r.client.status === 'fulfilled' && r.server.status === 'fulfilled', 'handshake failed')
  const [a, b] = r.streams
  const client = createSecureConnection(a, r.client.value.result, {
    ...options.client,
    queue: r.client.value.queue,
  })
  const server = createSecureConnection(b, r.server.value.result, {
    ...options.server,
    queue: r.server.value.queue,
  })
  t.after(() => {
    client.destroy()
    server.destroy()
  })
  return { client, server, streams: r.streams }
}

/** A raw socket that completed a genuine client handshake (as A): write anything after it. */
export async function rawHandshake(
  t: TestContext,
  port: number,
): Promise<RawPeer & { encryptor: BoxEncryptor }> {
  const peer = await rawConnect(t, port)
  const { result, queue } = await runHandshake(
    peer.socket,
    createHandshake({ role: 'client', identity: A, networkKey: K }),
    { readTimeoutMs: 5000, timeoutMs: 5000 },
  )
  assert.equal(queue.length, 0)
  peer.socket.resume() // runHandshake leaves it paused; keep reading so 'end' can be seen
  return { ...peer, encryptor: createBoxEncryptor(result.encrypt) }
}
