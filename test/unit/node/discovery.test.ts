/**
 * LAN discovery's socket side (PROTOCOL.md §8.2, §8.3) over real UDP on 127.0.0.1 (unicast
 * only), with an injected clock and timers so the burst schedule and the cooldown need no sleeps:
 * the schedule, the receive filter and cooldown, truncation, the verification dial, and stop.
 */
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { describe, test, type TestContext } from 'node:test'
import {
  LAN_COOLDOWN_MS,
  LAN_MAX_TRACKED_ADDRESSES,
  LAN_RECEIVE_BUFFER_BYTES,
  utf8,
} from '../../../src/codec/index.js'
import { deriveNetworkKey, lanDiscriminator } from '../../../src/crypto/index.js'
import {
  createCooldown,
  startDiscovery,
  verifyByDial,
  type Discovery,
  type DiscoveryCandidate,
  type DiscoveryDeps,
  type DiscoveryTimers,
} from '../../../src/node/discovery.js'
import { encodeAnnouncement } from '../../../src/replication/index.js'
import { A, B, C, K, captureLogger, startServer, waitFor } from '../net/net-helpers.js'

const NET = lanDiscriminator(K)

/** A manual clock and timer queue: `runNext()` jumps to the earliest timer and runs it. */
function fakeTime() {
  let now = 1_700_000_000_000
  let nextId = 1
  const pending = new Map<number, { at: number; fn: () => void }>()
  const delays: number[] = []
  const timers: DiscoveryTimers = {
    setTimeout(fn, ms) {
      delays.push(ms)
      pending.set(nextId, { at: now + ms, fn })
      return nextId++
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  }
  return {
    clock: { now: () => now },
    timers,
    delays,
    pending: () => pending.size,
    advance: (ms: number) => void (now += ms),
    /** Run the earliest timer; returns the time it was due, relative to the start. */
    runNext(): void {
      const [id, due] = [...pending].reduce((a, b) => (b[1].at < a[1].at ? b : a))
      pending.delete(id)
      now = due.at
      due.fn()
    },
  }
}

/** A UDP socket on 127.0.0.1 that keeps what it receives; closed at test end. */
async function udpSocket(t: TestContext, port = 0): Promise<{ socket: Socket; got: Buffer[] }> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  const got: Buffer[] = []
  socket.on('message', (m) => got.push(m))
  await new Promise<void>((resolve) => socket.bind({ port, address: '127.0.0.1' }, resolve))
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  return { socket, got }
}

function sendTo(socket: Socket, port: number, text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(typeof text === 'string' ? utf8(text) : text, port, '127.0.0.1', (err) =>
      err === null ? resolve() : reject(err),
    ),
  )
}

function announcement(gossipPort: number, publicId: string = A.id, net = NET): Uint8Array {
  return encodeAnnouncement({ networkKeyHash: net, gossipPort, publicId })
}

interface Harness {
  readonly discovery: Discovery
  readonly time: ReturnType<typeof fakeTime>
  readonly stored: string[]
  readonly verified: DiscoveryCandidate[]
  readonly log: ReturnType<typeof captureLogger>
}

/** Discovery as C, bound on port 0, with fake time; `verify` defaults to accepting everyone. */
async function startHarness(
  t: TestContext,
  overrides: Partial<DiscoveryDeps> = {},
  config: { port?: number; gossipPort?: number } = {},
): Promise<Harness> {
  const time = fakeTime()
  const stored: string[] = []
  const verified: DiscoveryCandidate[] = []
  const log = captureLogger()
  const discovery = await startDiscovery(
    {
      identity: C,
      networkKey: K,
      addLanPeer: (address) => stored.push(address),
      log,
      clock: time.clock,
      timers: time.timers,
      verify: (candidate) => {
        verified.push(candidate)
        return Promise.resolve(true)
      },
      ...overrides,
    },
    { port: config.port ?? 0, address: '127.0.0.1', gossipPort: () => config.gossipPort ?? 7655 },
  )
  t.after(() => discovery.stop())
  return { discovery, time, stored, verified, log }
}

describe('cooldown (§8.3 step 4)', () => {
  test('an address is skipped for 60 s after it was recorded, then admitted again', () => {
    const cooldown = createCooldown()
    assert.equal(cooldown.admit('10.0.0.2:7655', 0), true)
    assert.equal(cooldown.admit('10.0.0.2:7655', LAN_COOLDOWN_MS - 1), false)
    assert.equal(cooldown.admit('10.0.0.3:7655', 1), true, 'other addresses are independent')
    assert.equal(cooldown.admit('10.0.0.2:7655', LAN_COOLDOWN_MS), true)
    assert.equal(cooldown.admit('10.0.0.2:7655', LAN_COOLDOWN_MS + 1), false, 're-recorded')
  })

  test('holds at most 1000 addresses: full of recent ones, a new address is skipped', () => {
    const cooldown = createCooldown()
    for (let i = 0; i < LAN_MAX_TRACKED_ADDRESSES; i++) {
      assert.equal(cooldown.admit(`10.0.${i >> 8}.${i & 255}:7655`, i), true)
    }
    assert.equal(cooldown.size(), 1000)
    assert.equal(cooldown.admit('10.9.9.9:7655', 1000), false)
    assert.equal(cooldown.size(), 1000)
    // Once the oldest have expired they are dropped and the newcomer fits.
    assert.equal(cooldown.admit('10.9.9.9:7655', LAN_COOLDOWN_MS + 10), true)
    assert.equal(cooldown.size(), 1000 - 11 + 1)
  })

  test('a tracked address whose cooldown expired is admitted even when the map is full', () => {
    const cooldown = createCooldown(60_000, 2)
    assert.ok(cooldown.admit('a', 0))
    assert.ok(cooldown.admit('b', 50_000))
    assert.ok(cooldown.admit('a', 60_000))
    assert.equal(cooldown.size(), 2)
  })
})

describe('startDiscovery: announcements (§8.2)', () => {
  test('bursts of 6 datagrams 5 s apart, then 300 s of quiet; the first at start-up', async (t) => {
    // The listener is bound to 127.0.0.1 on the same port (address reuse, as several nodes on
    // one host do): unicast to 127.0.0.1 goes to that more specific socket.
    const { socket, got } = await udpSocket(t)
    const port = (socket.address() as { port: number }).port
    const h = await startHarness(t, {}, { port, gossipPort: 40001 })
    assert.equal(h.discovery.port(), port)
    assert.deepEqual(h.time.delays, [0], 'the first announcement is due at once')
    for (let sent = 1; sent <= 13; sent++) {
      h.time.runNext()
      await waitFor(() => got.length >= sent, { what: `datagram ${sent}` })
    }
    assert.deepEqual(
      h.time.delays,
      [0, 5000, 5000, 5000, 5000, 5000, 305000, 5000, 5000, 5000, 5000, 5000, 305000, 5000],
    )
    const expected = Buffer.from(announcement(40001, C.id))
    for (const g of got) assert.deepEqual(g, expected)
  })

  test('announces the gossip port as it is at each send', async (t) => {
    const { socket, got } = await udpSocket(t)
    const port = (socket.address() as { port: number }).port
    let gossipPort = 40001
    const time = fakeTime()
    const discovery = await startDiscovery(
      {
        identity: C,
        networkKey: K,
        addLanPeer: () => undefined,
        log: captureLogger(),
        clock: time.clock,
        timers: time.timers,
      },
      { port, address: '127.0.0.1', gossipPort: () => gossipPort },
    )
    t.after(() => discovery.stop())
    time.runNext()
    await waitFor(() => got.length === 1)
    gossipPort = 40002
    time.runNext()
    await waitFor(() => got.length === 2)
    assert.deepEqual(got[1], Buffer.from(announcement(40002, C.id)))
  })

  test('stop clears the timer, is idempotent, and no more announcements follow', async (t) => {
    const h = await startHarness(t)
    assert.equal(h.time.pending(), 1)
    await h.discovery.stop()
    await h.discovery.stop()
    assert.equal(h.time.pending(), 0)
  })

  test('with real timers the process is not kept alive and stop returns', async () => {
    const discovery = await startDiscovery(
      { identity: C, networkKey: K, addLanPeer: () => undefined, log: captureLogger() },
      { port: 0, address: '127.0.0.1', gossipPort: () => 40001 },
    )
    await discovery.stop()
  })
})

describe('startDiscovery: receiving (§8.3)', () => {
  test('ignores foreign, other-network, own and low-port datagrams; verifies and stores the rest', async (t) => {
    const h = await startHarness(t)
    const { socket } = await udpSocket(t)
    const port = h.discovery.port()
    await sendTo(socket, port, 'EGRE hello')
    await sendTo(socket, port, announcement(7655, A.id, lanDiscriminator(deriveNetworkKey('x'))))
    await sendTo(socket, port, announcement(7655, C.id)) // our own, come back
    await sendTo(socket, port, announcement(1023))
    await sendTo(socket, port, announcement(7655))
    await waitFor(() => h.stored.length === 1, { what: 'the valid announcement stored' })
    assert.deepEqual(h.verified, [{ host: '127.0.0.1', port: 7655, publicId: A.id }])
    assert.deepEqual(h.stored, ['127.0.0.1:7655'])
    const reasons = h.log.entries.filter((e) => e.msg === 'LAN datagram ignored')
    assert.deepEqual(
      reasons.map((e) => e.obj['reason']),
      ['unparseable', 'network mismatch', 'port below 1024'],
      'our own announcements are dropped without a log line',
    )
  })

  test('an address is dialled again only after its 60 s cooldown', async (t) => {
    const h = await startHarness(t)
    const { socket } = await udpSocket(t)
    const port = h.discovery.port()
    await sendTo(socket, port, announcement(7655))
    await sendTo(socket, port, announcement(7655, B.id)) // same address, in cooldown
    await sendTo(socket, port, announcement(7656)) // another address: a marker that all arrived
    await waitFor(() => h.verified.length === 2, { what: 'two verifications' })
    assert.deepEqual(
      h.verified.map((v) => v.port),
      [7655, 7656],
    )
    h.time.advance(LAN_COOLDOWN_MS)
    await sendTo(socket, port, announcement(7655, B.id))
    await waitFor(() => h.verified.length === 3, { what: 'the verification after the cooldown' })
    assert.deepEqual(h.verified[2], { host: '127.0.0.1', port: 7655, publicId: B.id })
  })

  test('a failed verification stores nothing and still starts the cooldown', async (t) => {
    const verified: number[] = []
    const h = await startHarness(t, {
      verify: (c) => {
        verified.push(c.port)
        return Promise.resolve(c.port !== 7655)
      },
    })
    const { socket } = await udpSocket(t)
    await sendTo(socket, h.discovery.port(), announcement(7655))
    await sendTo(socket, h.discovery.port(), announcement(7655))
    await sendTo(socket, h.discovery.port(), announcement(7656))
    await waitFor(() => h.stored.length === 1)
    assert.deepEqual(verified, [7655, 7656])
    assert.deepEqual(h.stored, ['127.0.0.1:7656'])
  })

  test('a verification that throws is logged, not fatal', async (t) => {
    const h = await startHarness(t, { verify: () => Promise.reject(new Error('boom')) })
    const { socket } = await udpSocket(t)
    await sendTo(socket, h.discovery.port(), announcement(7655))
    const entry = await waitFor(() => h.log.entries.find((e) => e.msg === 'LAN peer not stored'))
    assert.equal(entry.obj['err'], 'boom')
    assert.deepEqual(h.stored, [])
  })

  test('reads only the first 1024 bytes of a datagram', async (t) => {
    const h = await startHarness(t)
    const { socket } = await udpSocket(t)
    const text = new TextDecoder().decode(announcement(7655))
    // Valid JSON in the first 1024 bytes and garbage after: accepted, as HEAD reads it.
    await sendTo(
      socket,
      h.discovery.port(),
      text.padEnd(LAN_RECEIVE_BUFFER_BYTES) + 'x'.repeat(900),
    )
    // A complete announcement longer than 1024 bytes: cut short, so unparseable.
    const long = text.replace('{', `{"pad":"${'p'.repeat(LAN_RECEIVE_BUFFER_BYTES)}",`)
    await sendTo(socket, h.discovery.port(), long.replace('7655', '7656'))
    await sendTo(socket, h.discovery.port(), announcement(7657)) // marker
    await waitFor(() => h.stored.length === 2)
    assert.deepEqual(h.stored, ['127.0.0.1:7655', '127.0.0.1:7657'])
  })

  test('stop aborts verification dials in flight and waits for them', async (t) => {
    let aborted = false
    let started = false
    const h = await startHarness(t, {
      verify: (_c, signal) => {
        started = true
        return new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = true
            resolve(false)
          }),
        )
      },
    })
    const { socket } = await udpSocket(t)
    await sendTo(socket, h.discovery.port(), announcement(7655))
    await waitFor(() => started)
    await h.discovery.stop()
    assert.equal(aborted, true)
    assert.deepEqual(h.stored, [])
  })
})

describe('verifyByDial (§8.3 step 5, §8.4)', () => {
  test('true when the announced identity answers; the server sees a goodbye and no have', async (t) => {
    const server = await startServer(t)
    const log = captureLogger()
    const signal = new AbortController().signal
    const ok = verifyByDial(
      { identity: C, networkKey: K, log },
      { host: '127.0.0.1', port: server.port, publicId: B.id },
      signal,
    )
    const conn = await server.nextConnection()
    assert.equal(conn.remoteId, C.id)
    assert.equal(await conn.receive(), null, 'the first thing after the handshake is the goodbye')
    await conn.close()
    assert.equal(await ok, true)
  })

  test('false when another identity answers at the announced address', async (t) => {
    const server = await startServer(t)
    const log = captureLogger()
    const result = verifyByDial(
      { identity: C, networkKey: K, log },
      { host: '127.0.0.1', port: server.port, publicId: A.id },
      new AbortController().signal,
    )
    const conn = await server.nextConnection()
    assert.equal(await conn.receive(), null)
    await conn.close()
    assert.equal(await result, false)
    assert.ok(log.entries.some((e) => e.obj['announced'] === A.id && e.obj['actual'] === B.id))
  })

  test('false on another network key and on a closed port, within the 5 s budget', async (t) => {
    const server = await startServer(t)
    const deps = { identity: C, networkKey: deriveNetworkKey('other'), log: captureLogger() }
    const signal = new AbortController().signal
    const started = Date.now()
    const at = { host: '127.0.0.1', port: server.port, publicId: B.id }
    assert.equal(await verifyByDial(deps, at, signal), false)
    const closed = await udpSocket(t) // a UDP port number with (almost surely) no TCP listener
    const port = (closed.socket.address() as { port: number }).port
    assert.equal(await verifyByDial({ ...deps, networkKey: K }, { ...at, port }, signal), false)
    assert.ok(Date.now() - started < 5000)
  })

  test('through startDiscovery: a real dial stores the verified address', async (t) => {
    const server = await startServer(t)
    const stored: string[] = []
    const discovery = await startDiscovery(
      {
        identity: C,
        networkKey: K,
        addLanPeer: (a) => stored.push(a),
        log: captureLogger(),
        timers: fakeTime().timers,
      },
      { port: 0, address: '127.0.0.1', gossipPort: () => 40001 },
    )
    t.after(() => discovery.stop())
    const { socket } = await udpSocket(t)
    await sendTo(socket, discovery.port(), announcement(server.port, B.id))
    const conn = await server.nextConnection()
    assert.equal(await conn.receive(), null)
    await conn.close()
    await waitFor(() => stored.length === 1)
    assert.deepEqual(stored, [`127.0.0.1:${server.port}`])
  })
})
