/**
 * The secure transport on real sockets (PROTOCOL.md §3, §4.11): dial and listen, backpressure
 * from a slow reader, the connection limit and slot release, our own identity, dial failures,
 * and server shutdown with goodbyes.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, test } from 'node:test'
import { EgregoreError, type ErrorCode } from '../../src/errors.js'
import { toHex } from '../../src/codec/index.js'
import { dialSecure } from '../../src/net/index.js'
import {
  A,
  B,
  K,
  connectPair,
  dial,
  rawConnect,
  startServer,
  waitFor,
} from '../unit/net/net-helpers.js'

function isCode(code: ErrorCode, text?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof EgregoreError, String(err))
    assert.equal(err.code, code, err.message)
    if (text) assert.match(err.message, text)
    return true
  }
}

describe('secure transport over TCP', () => {
  test('dial and listen: both sides learn the other identity and exchange messages', async (t) => {
    const { client, server } = await connectPair(t)
    assert.equal(client.remoteId, B.id)
    assert.equal(server.remoteId, A.id)
    assert.equal(client.role, 'client')
    assert.equal(server.remoteAddress, '127.0.0.1')
    await client.send(new TextEncoder().encode('{"type":"have"}'))
    assert.equal(new TextDecoder().decode((await server.receive()) ?? undefined), '{"type":"have"}')
    await server.send(new Uint8Array(70000).fill(3))
    assert.equal((await client.receive())?.length, 70000)
  })

  test('a slow reader slows the writer; memory stays bounded; everything arrives in order', async (t) => {
    const hwm = 256 * 1024
    const { client, server } = await connectPair(t, {
      listen: { connection: { receiveHighWaterMarkBytes: hwm } },
    })
    const total = 48 * 1024 * 1024 // far beyond what kernel buffers can hold
    const size = 128 * 1024
    let sent = 0
    const writer = (async () => {
      for (let i = 0; sent < total; i++) {
        await client.send(new Uint8Array(size).fill(i & 255))
        sent += size
      }
    })()
    // Nobody reads: the writer must stall well short of the total.
    let last = -1
    let stableFor = 0
    await waitFor(
      () => {
        stableFor = sent === last ? stableFor + 1 : 0
        last = sent
        return stableFor >= 20 // 20 polls (~100 ms) without progress
      },
      { timeoutMs: 10000, what: 'the writer to stall' },
    )
    assert.ok(sent < total / 2, `writer kept going: ${sent} bytes`)
    // Now read everything: the writer resumes and all messages arrive whole and in order.
    let received = 0
    for (let i = 0; received < total; i++) {
      const m = await server.receive()
      assert.ok(m !== null && m.length === size && m[0] === (i & 255) && m[size - 1] === (i & 255))
      received += m.length
    }
    await writer
    assert.equal(received, total)
  })

  test('a burst of messages over TCP: every message kept by the reader stays intact', async (t) => {
    const { client, server } = await connectPair(t)
    // Multi-frame messages arrive in batches of many frames per socket read and are assembled
    // in place; none may be overwritten by the decoding of later ones.
    const sizes = [4096, 4095, 1, 0, 8191, 12000, 4097, 70000]
    const sent = Array.from({ length: 400 }, (_, k) =>
      Uint8Array.from({ length: sizes[k % sizes.length] as number }, (_, i) => (i * 31 + k) & 0xff),
    )
    const sending = Promise.all(sent.map((m) => client.send(m))).then(() => client.close())
    const kept: Uint8Array[] = []
    for await (const m of server) kept.push(m)
    await sending
    assert.equal(kept.length, sent.length)
    for (const [k, m] of kept.entries()) assert.deepEqual(m, sent[k], `message ${k}`)
  })

  test('connection limit: extra connections are closed at once; slots come back', async (t) => {
    const s = await startServer(t, { maxConnections: 1 })
    const first = await dial(t, s.port)
    const held = await s.nextConnection()
    assert.equal(s.server.activeConnections, 1)
    const extra = await rawConnect(t, s.port)
    await extra.ended
    assert.equal(extra.received().length, 0)
    assert.ok(s.log.entries.some((e) => e.msg.includes('connection limit')))
    held.setPersistent(true) // a persistent link no longer counts (§4.7.2)
    assert.equal(s.server.activeConnections, 0)
    const second = await dial(t, s.port)
    assert.equal(second.remoteId, B.id)
    await first.close()
  })

  test('a connection from our own identity is closed by both ends', async (t) => {
    const s = await startServer(t)
    await assert.rejects(
      dialSecure({ host: '127.0.0.1', port: s.port, identity: B, networkKey: K }),
      isCode('HANDSHAKE_FAILED', /our own identity/),
    )
    await waitFor(() => s.log.entries.find((e) => e.msg.includes('our own identity')), {
      what: 'the server to log our own identity',
    })
    await waitFor(() => s.server.activeConnections === 0, { what: 'the slot to be released' })
  })

  test('dial failures: refused, aborted, and a server that never answers', async (t) => {
    const probe = createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const closedPort = (probe.address() as { port: number }).port
    await new Promise<void>((r) => probe.close(() => r()))
    const base = { host: '127.0.0.1', identity: A, networkKey: K }
    await assert.rejects(dialSecure({ ...base, port: closedPort }), isCode('IO_ERROR'))
    const silent = createServer((socket) => t.after(() => socket.destroy()))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    t.after(() => silent.close())
    const port = (silent.address() as { port: number }).port
    await assert.rejects(
      dialSecure({ ...base, port, readTimeoutMs: 100 }),
      isCode('TIMEOUT', /read timeout waiting for the server hello \(step 2\)/),
    )
    await assert.rejects(
      dialSecure({ ...base, port, timeoutMs: 100 }),
      isCode('TIMEOUT', /within 100 ms/),
    )
    const ac = new AbortController()
    const dialing = dialSecure({ ...base, port, signal: ac.signal })
    setImmediate(() => ac.abort())
    await assert.rejects(
      dialing,
      (e: unknown) => e instanceof EgregoreError && e.code === 'ABORTED',
    )
  })

  test('server.close() says goodbye on established connections', async (t) => {
    const { client, test: s } = await connectPair(t)
    await s.server.close()
    assert.equal(await client.receive(), null)
    assert.equal(await client.closed, null)
  })

  test('nonces never repeat within a TCP session', async (t) => {
    const seen = new Set<string>()
    let uses = 0
    const onNonce = (n: Uint8Array, dir: 'send' | 'receive'): void => {
      uses++
      seen.add(`${dir}:${toHex(n)}`)
    }
    const { client, server } = await connectPair(t, { dial: { connection: { onNonce } } })
    for (let i = 0; i < 30; i++) {
      await client.send(new Uint8Array(i * 300))
      await server.send(new Uint8Array(i * 500))
      await client.receive()
    }
    assert.equal(seen.size, uses)
    assert.ok(uses > 100)
  })
})
