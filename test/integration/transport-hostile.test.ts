/**
 * Hostile peers against a real gossip server (PROTOCOL.md §3.2.1, §3.5.2, §3.5.4, §4.11): garbage,
 * oversized prefixes, half-sent frames, a wrong network key, a replayed handshake, a flood over
 * the connection limit. Each closes only that connection with a logged reason; afterwards the
 * server still completes a good handshake, and nothing escapes as an unhandled error.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Socket } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import { deriveNetworkKey, encodeMessage } from '../../src/crypto/index.js'
import { dialSecure } from '../../src/net/index.js'
import {
  A,
  assertServerHealthy,
  guardProcess,
  K,
  rawConnect,
  rawHandshake,
  startServer,
  waitFor,
  type TestServer,
} from '../unit/net/net-helpers.js'

/** Wait until the server logged a line whose fields or message match `pattern`. */
function logged(s: TestServer, pattern: RegExp): Promise<unknown> {
  return waitFor(
    () => s.log.entries.find((e) => pattern.test(`${e.msg} ${JSON.stringify(e.obj)}`)),
    { what: `a log line matching ${pattern}` },
  )
}

async function hostileServer(t: TestContext, readTimeoutMs = 5000): Promise<TestServer> {
  guardProcess(t)
  return startServer(t, { readTimeoutMs })
}

describe('hostile peers', () => {
  test('garbage instead of a hello: closed without a reply (HMAC fails)', async (t) => {
    const s = await hostileServer(t)
    const peer = await rawConnect(t, s.port)
    peer.socket.write(randomBytes(200))
    await peer.ended
    assert.equal(peer.received().length, 0) // nothing is ever signalled on the wire
    await logged(s, /NETWORK_KEY_MISMATCH.*client hello HMAC verification failed \(step 1\)/)
    await assertServerHealthy(t, s.port)
  })

  test('an auth length prefix above 4096: closed before any body is read', async (t) => {
    const s = await hostileServer(t)
    const client = connect({ host: '127.0.0.1', port: s.port })
    t.after(() => client.destroy())
    const hello = await recordClientBytes(t, s.port, 64)
    client.write(hello)
    await onceData(client) // the server hello
    client.write(Uint8Array.of(0, 0, 0x10, 0x01))
    await new Promise((r) => client.once('close', r))
    await logged(s, /auth too large \(step 3\)/)
    await assertServerHealthy(t, s.port)
  })

  test('garbage after a good handshake: that connection closes with a decode error', async (t) => {
    const s = await hostileServer(t)
    const peer = await rawHandshake(t, s.port)
    const conn = await s.nextConnection()
    peer.socket.write(Uint8Array.of(0, 0, 0, 50, ...randomBytes(50)))
    assert.match(String(await conn.closed), /header decryption failed/)
    await peer.ended
    await logged(s, /DECODE_ERROR/)
    await assertServerHealthy(t, s.port)
  })

  test('an oversized frame length prefix: refused before reading the frame', async (t) => {
    const s = await hostileServer(t)
    const peer = await rawHandshake(t, s.port)
    const conn = await s.nextConnection()
    peer.socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff))
    assert.match(String(await conn.closed), /frame too large/)
    await logged(s, /FRAME_TOO_LARGE/)
    await assertServerHealthy(t, s.port)
  })

  test('a half-sent frame, then silence: the read timeout closes it', async (t) => {
    const s = await hostileServer(t, 150)
    const peer = await rawHandshake(t, s.port)
    const conn = await s.nextConnection()
    const frame = encodeMessage(peer.encryptor, new Uint8Array(500))
    peer.socket.write(frame.subarray(0, 200))
    assert.match(String(await conn.closed), /read timeout/)
    await peer.ended
    await logged(s, /TIMEOUT/)
    await assertServerHealthy(t, s.port)
  })

  test('half a hello, then silence: the handshake read timeout closes it', async (t) => {
    const s = await hostileServer(t, 150)
    const peer = await rawConnect(t, s.port)
    peer.socket.write(randomBytes(30))
    await peer.ended
    await logged(s, /read timeout waiting for the client hello \(step 1\)/)
    await assertServerHealthy(t, s.port)
  })

  test('a wrong network key: both ends name the network key', async (t) => {
    const s = await hostileServer(t)
    await assert.rejects(
      dialSecure({
        host: '127.0.0.1',
        port: s.port,
        identity: A,
        networkKey: deriveNetworkKey('my-private-network'),
      }),
      /step 2.*--network-key/,
    )
    await logged(s, /NETWORK_KEY_MISMATCH/)
    await assertServerHealthy(t, s.port)
  })

  test('a replayed handshake fails at step 3: the server ephemeral differs', async (t) => {
    const s = await hostileServer(t)
    const recorded = await recordClientBytes(t, s.port, 64 + 116)
    const peer = await rawConnect(t, s.port)
    peer.socket.write(recorded)
    await peer.ended
    assert.equal(peer.received().length, 64) // the server hello, and nothing after the bad auth
    await logged(s, /decryption failed \(step 3\)/)
    await assertServerHealthy(t, s.port)
  })

  test('a flood beyond the connection limit: extras are dropped, slots come back', async (t) => {
    guardProcess(t)
    const s = await startServer(t, { maxConnections: 4, readTimeoutMs: 5000 })
    const silent = await Promise.all(Array.from({ length: 4 }, () => rawConnect(t, s.port)))
    await waitFor(() => s.server.activeConnections === 4, { what: '4 connections held' })
    const extras = await Promise.all(Array.from({ length: 20 }, () => rawConnect(t, s.port)))
    await Promise.all(extras.map((p) => p.ended))
    assert.ok(extras.every((p) => p.received().length === 0))
    silent.forEach((p) => p.socket.destroy())
    await waitFor(() => s.server.activeConnections === 0, { what: 'slots released' })
    await assertServerHealthy(t, s.port)
  })
})

function onceData(socket: Socket): Promise<Uint8Array> {
  return new Promise((resolve) => socket.once('data', resolve))
}

/** The first `length` bytes a genuine client sends to `port`, recorded by a relaying proxy. */
async function recordClientBytes(
  t: TestContext,
  port: number,
  length: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  const proxy = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port })
    inbound.on('data', (c: Uint8Array) => {
      chunks.push(c)
      outbound.write(c)
    })
    outbound.on('data', (c: Uint8Array) => inbound.write(c))
    inbound.on('error', () => undefined)
    outbound.on('error', () => undefined)
    inbound.on('close', () => outbound.destroy())
    outbound.on('close', () => inbound.destroy())
    t.after(() => inbound.destroy())
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  t.after(() => proxy.close())
  const proxyPort = (proxy.address() as { port: number }).port
  const conn = await dialSecure({ host: '127.0.0.1', port: proxyPort, identity: A, networkKey: K })
  conn.destroy()
  const all = Buffer.concat(chunks)
  assert.ok(all.length >= length)
  return Uint8Array.from(all.subarray(0, length))
}
