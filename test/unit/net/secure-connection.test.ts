/**
 * Secure connection over in-memory streams (PROTOCOL.md §3.4–§3.6): message round trips and
 * order, limits, polite close, destroy, fatal input, read timeouts with and without persistent
 * mode, slot release, and nonces that never repeat within a session.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EgregoreError, type ErrorCode } from '../../../src/errors.js'
import { MAX_MESSAGE_BYTES, toHex } from '../../../src/codec/index.js'
import { connectionPairInMemory, waitFor } from './net-helpers.js'

const bytes = (n: number, fill = 0x61): Uint8Array => new Uint8Array(n).fill(fill)

function isCode(code: ErrorCode): (err: unknown) => boolean {
  return (err) => err instanceof EgregoreError && err.code === code
}

describe('secure connection', () => {
  test('messages of every size arrive whole and in order, both ways', async (t) => {
    const { client, server } = await connectionPairInMemory(t)
    const sizes = [0, 1, 4095, 4096, 4097, 10000, MAX_MESSAGE_BYTES]
    await Promise.all(sizes.map((n, i) => client.send(bytes(n, i))))
    for (const [i, n] of sizes.entries()) assert.deepEqual(await server.receive(), bytes(n, i))
    await server.send(Uint8Array.of(42))
    assert.deepEqual(await client.receive(), Uint8Array.of(42))
  })

  test('a message over 131072 bytes is refused locally; the connection stays usable', async (t) => {
    const { client, server } = await connectionPairInMemory(t)
    await assert.rejects(client.send(bytes(MAX_MESSAGE_BYTES + 1)), isCode('FRAME_TOO_LARGE'))
    await client.send(Uint8Array.of(1))
    assert.deepEqual(await server.receive(), Uint8Array.of(1))
  })

  test('close(): the peer reads what was sent, then the end; both close cleanly', async (t) => {
    const { client, server } = await connectionPairInMemory(t)
    await client.send(Uint8Array.of(1))
    await client.send(Uint8Array.of(2))
    const closing = client.close()
    const got: number[] = []
    for await (const m of server) got.push(...m)
    assert.deepEqual(got, [1, 2])
    await closing
    assert.equal(await client.closed, null)
    assert.equal(await server.closed, null)
    await assert.rejects(client.send(Uint8Array.of(3)), isCode('CLOSED'))
    await client.close() // idempotent
  })

  test('destroy(reason): our readers see the reason, the peer sees a plain end', async (t) => {
    const { client, server } = await connectionPairInMemory(t)
    const pending = client.receive()
    client.destroy(new EgregoreError('ABORTED', 'stop'))
    await assert.rejects(pending, isCode('ABORTED'))
    assert.equal(await server.receive(), null)
    assert.ok((await client.closed) instanceof EgregoreError)
  })

  test('garbage after the handshake closes that connection with DECODE_ERROR', async (t) => {
    const { server, streams } = await connectionPairInMemory(t)
    streams[0].write(Uint8Array.of(0, 0, 0, 40, ...bytes(40, 0x55)))
    await assert.rejects(server.receive(), isCode('DECODE_ERROR'))
    const reason = await server.closed
    assert.match(String(reason), /header decryption failed/)
    await assert.rejects(server.send(Uint8Array.of(1)), isCode('CLOSED'))
  })

  test('an oversized length prefix is refused before anything is buffered', async (t) => {
    const { server, streams } = await connectionPairInMemory(t)
    streams[0].write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff))
    await assert.rejects(server.receive(), isCode('FRAME_TOO_LARGE'))
  })

  test('a reader waiting on a pull connection times out; on a persistent one it does not', async (t) => {
    const pull = await connectionPairInMemory(t, { server: { readTimeoutMs: 120 } })
    const push = await connectionPairInMemory(t, {
      server: { readTimeoutMs: 20, persistent: true },
    })
    const waitingOnPush = push.server.receive()
    // The pull connection's timeout is our clock: by then the persistent one would have fired 6 times.
    await assert.rejects(pull.server.receive(), isCode('TIMEOUT'))
    assert.match(String(await pull.server.closed), /read timeout/)
    await push.client.send(Uint8Array.of(7))
    assert.deepEqual(await waitingOnPush, Uint8Array.of(7))
  })

  test('a frame left half-sent times out even in persistent mode', async (t) => {
    const { server, streams } = await connectionPairInMemory(t, {
      server: { readTimeoutMs: 30, persistent: true },
    })
    streams[0].write(Uint8Array.of(0, 0, 0, 100, 1, 2, 3))
    assert.match(String(await server.closed), /TIMEOUT|read timeout/)
    await assert.rejects(server.receive(), isCode('TIMEOUT'))
  })

  test('onRelease fires once: on setPersistent(true) or on close', async (t) => {
    let released = 0
    const { client, server } = await connectionPairInMemory(t, {
      server: {
        onRelease: () => {
          released++
        },
      },
    })
    server.setPersistent(true)
    server.setPersistent(true)
    assert.equal(released, 1)
    await client.close()
    await server.closed
    assert.equal(released, 1)
  })

  test('a flood of tiny messages pauses the stream: each queued message is charged its overhead', async (t) => {
    const { client, server, streams } = await connectionPairInMemory(t, {
      server: { receiveHighWaterMarkBytes: 64 * 1024 },
    })
    for (let i = 0; i < 5000; i++) await client.send(Uint8Array.of(i & 255))
    await waitFor(() => streams[1].isPaused(), { what: 'the server side to pause' })
    for (let i = 0; i < 5000; i++) assert.deepEqual(await server.receive(), Uint8Array.of(i & 255))
    assert.equal(streams[1].isPaused(), false)
  })

  test('nonces never repeat within a session, in either direction', async (t) => {
    const used = { client: new Map<string, number>(), server: new Map<string, number>() }
    const record = (who: 'client' | 'server') => (n: Uint8Array, dir: 'send' | 'receive') => {
      const k = `${dir}:${toHex(n)}`
      used[who].set(k, (used[who].get(k) ?? 0) + 1)
    }
    const { client, server } = await connectionPairInMemory(t, {
      client: { onNonce: record('client') },
      server: { onNonce: record('server') },
    })
    for (let i = 0; i < 40; i++) {
      await client.send(bytes(i * 211))
      await server.send(bytes(i * 97))
      await server.receive()
      await client.receive()
    }
    const closing = client.close()
    assert.equal(await server.receive(), null)
    await server.close()
    await closing
    for (const who of ['client', 'server'] as const) {
      assert.ok(
        [...used[who].values()].every((count) => count === 1),
        `${who} reused a nonce`,
      )
    }
    const sent = [...used.client.keys()].filter((k) => k.startsWith('send:')).map((k) => k.slice(5))
    const read = [...used.server.keys()]
      .filter((k) => k.startsWith('receive:'))
      .map((k) => k.slice(8))
    assert.deepEqual(read, sent) // the reader walks exactly the writer's nonces, goodbye included
    assert.ok(sent.length > 80)
  })
})
