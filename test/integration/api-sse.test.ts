/**
 * Server-sent events at `GET /v1/events` (PROTOCOL.md §7.6) over real sockets: an event per
 * stored message with its arrival id, filters, resume from the database without gap or
 * duplicate, a slow subscriber served from the database with a bounded buffer, keep-alive
 * comments, the subscriber limit and the end of streams at shutdown.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import {
  createNodeService,
  createSseHub,
  registerRestRoutes,
  type SseOptions,
} from '../../src/api/index.js'
import { fromPlainJson } from '../../src/codec/index.js'
import { createInlineVerifier } from '../../src/crypto/index.js'
import { createFeedEngine, type FeedEngine } from '../../src/feed/index.js'
import { createHttpServer } from '../../src/http/index.js'
import { silentLogger, type Logger } from '../../src/log.js'
import {
  createMessageStore,
  createStateStore,
  openDatabase,
  type MessageStore,
} from '../../src/store/index.js'
import { buildFeed, messagesOf, testIdentity } from '../helpers/feeds.js'
import {
  assertError,
  eventIds,
  httpRequest,
  openSse,
  postJson,
  rawData,
  seg,
  startTestNode,
  waitFor,
  type SseEvent,
} from '../helpers/http.js'

const other = testIdentity(2) // its public ID contains '/' and '+'
const third = testIdentity(3)

/** The hash inside an event's wire text. */
function hashOf(e: SseEvent): string {
  const m = /"hash":"([0-9a-f]{64})"/.exec(e.data)
  assert.ok(m !== null, e.data)
  return m[1]!
}

/** Every stored message in arrival order, as the stream must deliver it. */
function arrivals(
  store: MessageStore,
  filter: { author?: string; contentType?: string } = {},
): { id: number; wireText: string }[] {
  return store.messagesSince(0, 1_000_000, filter).map((m) => ({ id: m.id, wireText: m.wireText }))
}

function assertStream(
  events: readonly SseEvent[],
  expected: readonly { id: number; wireText: string }[],
): void {
  assert.deepEqual(
    eventIds(events),
    expected.map((e) => e.id),
    'ids: exactly the expected messages, in arrival order',
  )
  events.forEach((e, i) =>
    assert.equal(
      e.data,
      expected[i]!.wireText,
      `event ${e.id ?? '?'} carries the stored wire text`,
    ),
  )
}

test('an event per published and per ingested message, increasing ids, data = the stored wire text', async (t) => {
  const { node, port } = await startTestNode(t)
  const sse = await openSse(t, port, '/v1/events')
  assert.equal(sse.status, 200)
  assert.equal(sse.headers['content-type'], 'text/event-stream')
  assert.equal(sse.headers['cache-control'], 'no-cache')
  await sse.waitForComments(1)
  assert.equal(sse.raw(), ':\n\n', 'the stream opens with a comment line')

  const published: string[] = []
  for (const text of ['one', 'two']) {
    const res = await postJson(
      port,
      '/v1/publish',
      `{"content":{"type":"note","text":"${text}","n":18446744073709551615}}`,
    )
    assert.equal(res.status, 201)
    published.push(rawData(res.text))
  }
  const feed = buildFeed(other, 3)
  await node.engine.ingestMany(messagesOf(feed))
  const last = await postJson(port, '/v1/publish', '{"content":{"type":"note","f":1.0}}')
  published.push(rawData(last.text))

  const events = await sse.waitForEvents(6)
  const expected = [published[0], published[1], ...feed.map((s) => s.wireText), published[2]]
  assert.deepEqual(
    events.map((e) => e.data),
    expected,
  )
  const ids = eventIds(events)
  assert.ok(
    ids.every((id, i) => i === 0 || id > ids[i - 1]!),
    `ids increase: ${ids.join(',')}`,
  )
  assertStream(events, arrivals(node.store))
  // the exact framing: `id:<n>\ndata:<text>\n\n`, no space after the colons
  assert.equal(
    sse.raw(),
    ':\n\n' + events.map((e) => `id:${e.id ?? ''}\ndata:${e.data}\n\n`).join(''),
  )

  // a subscriber without Last-Event-ID starts live: it gets only what is stored after it joined
  const late = await openSse(t, port, '/v1/events')
  await late.waitForComments(1)
  const after = await postJson(port, '/v1/publish', '{"content":{"type":"note","text":"after"}}')
  const [first] = await late.waitForEvents(1)
  assert.equal(first?.data, rawData(after.text))
  assert.equal(Number(first?.id), ids[5]! + 1)
})

test('filters content_type and author (sent with %2B); a bad author is 400 INVALID_AUTHOR', async (t) => {
  const { node, port } = await startTestNode(t)
  const all = await openSse(t, port, '/v1/events')
  const alpha = await openSse(t, port, '/v1/events?content_type=alpha')
  const byOther = await openSse(t, port, `/v1/events?author=${seg(other.id)}`)
  const both = await openSse(t, port, `/v1/events?content_type=alpha&author=${seg(other.id)}`)
  for (const c of [all, alpha, byOther, both]) assert.equal(c.status, 200)

  await postJson(port, '/v1/publish', '{"content":{"type":"alpha"}}')
  await postJson(port, '/v1/publish', '{"content":{"type":"beta"}}')
  await postJson(port, '/v1/publish', '{"content":{"type":"alphabet"}}') // not an exact match
  await node.engine.ingestMany(
    messagesOf(buildFeed(third, 2, { contentFn: () => ({ type: 'alpha' }) })),
  )
  // other's message 5 is alpha and comes last: every filter passes it, so once a client has it,
  // it has everything it will ever get from this batch
  const feed = buildFeed(other, 5, {
    contentFn: (n) => ({ type: n % 2 === 1 ? 'alpha' : 'beta', n }),
  })
  await node.engine.ingestMany(messagesOf(feed))
  const sentinel = feed[4]!.message.hash
  for (const c of [all, alpha, byOther, both]) {
    await waitFor(() => c.events.some((e) => hashOf(e) === sentinel), {
      what: 'the last message on every stream',
    })
  }
  assertStream(all.events, arrivals(node.store))
  assertStream(alpha.events, arrivals(node.store, { contentType: 'alpha' }))
  assert.equal(alpha.events.length, 1 + 2 + 3)
  assertStream(byOther.events, arrivals(node.store, { author: other.id }))
  assert.equal(byOther.events.length, 5)
  assertStream(both.events, arrivals(node.store, { author: other.id, contentType: 'alpha' }))
  assert.equal(both.events.length, 3)

  const invalid =
    '{"success":false,"error":{"code":"INVALID_AUTHOR","message":"author must be in @<base64>.ed25519 format"}}'
  for (const bad of ['bad', other.id.replaceAll('/', '%2F')]) {
    // the second sends '+' unencoded: a query string reads it as a space (§7.1)
    const res = await httpRequest(port, { path: `/v1/events?author=${bad}` })
    assertError(res, 400, 'INVALID_AUTHOR')
    assert.equal(res.text, invalid)
  }
  assertError(
    await httpRequest(port, { path: '/v1/events?content_type=a&content_type=b' }),
    400,
    'INVALID_QUERY',
  )
})

test('Last-Event-ID resumes with exactly the missed messages in arrival order, then live ones', async (t) => {
  const { node, port } = await startTestNode(t)
  await node.engine.ingestMany(messagesOf(buildFeed(other, 10)))
  const ids = arrivals(node.store).map((m) => m.id)
  assert.equal(ids.length, 10)

  const sse = await openSse(t, port, '/v1/events', { 'last-event-id': String(ids[3]) })
  await sse.waitForEvents(6)
  await postJson(port, '/v1/publish', '{"content":{"type":"note","text":"live 1"}}')
  await postJson(port, '/v1/publish', '{"content":{"type":"note","text":"live 2"}}')
  await sse.waitForEvents(8)
  assertStream(sse.events, arrivals(node.store).slice(4))

  // ?last_event_id with a filter
  const q = await openSse(t, port, `/v1/events?last_event_id=${ids[6]!}&author=${seg(other.id)}`)
  await q.waitForEvents(3)
  await node.engine.ingestMany(messagesOf(buildFeed(other, 12)).slice(10))
  await q.waitForEvents(5)
  assertStream(q.events, arrivals(node.store, { author: other.id }).slice(7))

  // the header wins over the query parameter; 0 replays everything
  const h = await openSse(t, port, `/v1/events?last_event_id=0`, {
    'last-event-id': String(ids[8]),
  })
  const all = arrivals(node.store)
  await h.waitForEvents(all.length - 9)
  const zero = await openSse(t, port, '/v1/events?last_event_id=0')
  await zero.waitForEvents(all.length)
  assertStream(zero.events, all)
  // nothing beyond: a final live message is the next event on each stream
  const fin = await postJson(port, '/v1/publish', '{"content":{"type":"note","text":"final"}}')
  for (const c of [sse, h, zero]) {
    await waitFor(() => c.events.at(-1)?.data === rawData(fin.text), { what: 'the final message' })
  }
  assertStream(sse.events, arrivals(node.store).slice(4))
  assertStream(h.events, arrivals(node.store).slice(9))
  assertStream(zero.events, arrivals(node.store))
  assertError(
    await httpRequest(port, { path: '/v1/events?last_event_id=-1' }),
    400,
    'INVALID_QUERY',
  )
})

test('resume while messages keep arriving: no gap and no duplicate at the switch to live', async (t) => {
  const { node, port } = await startTestNode(t)
  await node.engine.ingestMany(messagesOf(buildFeed(other, 1000))) // several database pages
  const live = messagesOf(buildFeed(third, 600))
  const header = await openSse(t, port, '/v1/events', { 'last-event-id': '0' })
  const query = await openSse(t, port, '/v1/events?last_event_id=500')
  // ingest concurrently with the catch-up, in small batches, interleaved with publishes
  for (let i = 0; i < live.length; i += 50) {
    await Promise.all([
      node.engine.ingestMany(live.slice(i, i + 50)),
      node.engine.publish(fromPlainJson({ type: 'note', i })),
    ])
  }
  const all = arrivals(node.store)
  assert.equal(all.length, 1000 + 600 + 12)
  await header.waitForEvents(all.length, 10000)
  await query.waitForEvents(all.length - 500, 10000)
  assertStream(header.events, all)
  assertStream(query.events, all.slice(500))
})

// ---- a hub with small limits, on an app built as the node builds it -----------------------

interface HubFixture {
  readonly port: number
  readonly engine: FeedEngine
  readonly store: MessageStore
  readonly sockets: Set<Socket>
  readonly debug: string[]
}

async function startHub(t: TestContext, options: SseOptions): Promise<HubFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'egregore-sse-'))
  const db = openDatabase(join(dir, 'egregore.db'))
  const store = createMessageStore(db)
  const state = createStateStore(db)
  const engine = createFeedEngine({
    store,
    identity: testIdentity(1),
    verifier: createInlineVerifier(),
  })
  const debug: string[] = []
  const log: Logger = {
    ...silentLogger,
    debug: (_o, msg) => debug.push(msg ?? ''),
    child: () => log,
  }
  const app = createHttpServer({ log, loopbackOnly: true })
  const info = {
    version: '0.0.0-test',
    httpPort: () => 0,
    gossipPort: () => 0,
    cliPeers: [],
    startedAtMs: Date.now(),
    syncIntervalSecs: 300,
  }
  const hub = createSseHub({ engine, store, log }, options)
  registerRestRoutes(app, createNodeService({ engine, store, state, info }))
  hub.register(app)
  const sockets = new Set<Socket>()
  app.server.on('connection', (s: Socket) => sockets.add(s))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(async () => {
    hub.closeAll()
    await app.close()
    await engine.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const address = app.server.address()
  assert.ok(typeof address === 'object' && address !== null)
  return { port: address.port, engine, store, sockets, debug }
}

test('a subscriber that stops reading gets every event once, in order; the node buffers a bounded amount', async (t) => {
  const hub = await startHub(t, { maxClients: 4, queueSize: 16, keepAliveMs: 200 })
  const slow = await openSse(t, hub.port, '/v1/events')
  await slow.waitForComments(1)
  slow.res.pause()

  const total = 3000
  const padding = 'p'.repeat(4000) // ~12 MB in all: far beyond socket buffers
  let maxBuffered = 0
  const sample = (): void => {
    for (const s of hub.sockets) maxBuffered = Math.max(maxBuffered, s.writableLength)
  }
  for (let i = 0; i < total; i += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        hub.engine.publish(fromPlainJson({ type: 'note', n: i + k, padding })),
      ),
    )
    sample()
  }
  // still responsive while the subscriber is stuck
  const status = await httpRequest(hub.port, { path: '/v1/status', timeoutMs: 2000 })
  assert.equal(status.status, 200)
  assert.ok(
    hub.debug.some((m) => /lagged/.test(m)),
    'the subscriber overflowed its queue and fell back to the database',
  )
  assert.ok(slow.events.length < total, 'the subscriber was really behind')

  slow.res.resume()
  await slow.waitForEvents(total, 15000)
  sample()
  assertStream(slow.events, arrivals(hub.store))
  // It was told it lagged (issue #3), with the last id it had been sent at that moment.
  assert.ok(slow.named.length >= 1, 'a lagged notice arrived')
  for (const notice of slow.named) {
    assert.equal(notice.event, 'lagged')
    assert.match(notice.data, /^\{"last_event_id":\d+\}$/)
  }
  // The live queue (16 events) is dropped on overflow and the socket is written only while it
  // drains, so what the node holds for this client stays near one socket high-water mark.
  assert.ok(
    maxBuffered < 256 * 1024,
    `server-side buffered bytes stayed bounded (max ${maxBuffered})`,
  )
  // and the subscriber is live again
  const next = await hub.engine.publish(fromPlainJson({ type: 'note', text: 'after' }))
  await waitFor(() => slow.events.at(-1)?.data === next.wireText, {
    what: 'a live event after catching up',
  })
  assert.equal(slow.events.length, total + 1)
})

test('a keep-alive comment is sent after keepAliveMs without events', async (t) => {
  const hub = await startHub(t, { maxClients: 4, keepAliveMs: 200 })
  const sse = await openSse(t, hub.port, '/v1/events')
  await sse.waitForComments(3, 3000) // the opening comment and two keep-alives
  assert.match(sse.raw(), /^(:\n\n){3,}$/)
  assert.equal(sse.events.length, 0)
})

test('beyond maxSseClients: 503 TOO_MANY_SUBSCRIBERS; a closed stream frees its slot', async (t) => {
  const { port } = await startTestNode(t, { maxSseClients: 2 })
  const a = await openSse(t, port, '/v1/events')
  const b = await openSse(t, port, '/v1/events')
  assert.equal(a.status, 200)
  assert.equal(b.status, 200)
  const full = await httpRequest(port, { path: '/v1/events' })
  assertError(full, 503, 'TOO_MANY_SUBSCRIBERS')
  assert.equal(
    full.text,
    '{"success":false,"error":{"code":"TOO_MANY_SUBSCRIBERS","message":"too many event subscribers (max 2)"}}',
  )
  a.close()
  const c = await waitFor(
    async () => {
      const s = await openSse(t, port, '/v1/events')
      if (s.status === 200) return s
      s.close()
      return undefined
    },
    { what: 'a free subscriber slot' },
  )
  assert.equal(c.status, 200)
})

test('node.stop() ends open streams', async (t) => {
  const { node, port } = await startTestNode(t)
  const a = await openSse(t, port, '/v1/events')
  const b = await openSse(t, port, '/v1/events?content_type=x')
  await a.waitForComments(1)
  await b.waitForComments(1)
  await node.stop()
  await a.waitForEnd(2000)
  await b.waitForEnd(2000)
})

test('HEAD /v1/events answers at once and does not take a subscriber slot', async (t) => {
  const { port } = await startTestNode(t, { maxSseClients: 1 })
  try {
    const head = await httpRequest(port, { method: 'HEAD', path: '/v1/events', timeoutMs: 1000 })
    assert.equal(head.status, 200)
  } finally {
    const sse = await openSse(t, port, '/v1/events')
    assert.equal(sse.status, 200, 'the slot is free for a real subscriber')
  }
})
