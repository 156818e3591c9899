/**
 * The relay's HTTP API over a real socket (PROTOCOL.md §9.4, §9.5): signed registration with
 * every error in check order, max-peers, the per-IP rate limit, the directory, settings replay,
 * status, health, feed listings with paging, retention and the quota as status reports them.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { join } from 'node:path'
import type { Relay } from '../../src/relay/index.js'
import { openDatabase } from '../../src/store/index.js'
import { buildFeed, messagesOf, testIdentity } from '../helpers/feeds.js'
import {
  assertError,
  assertJson,
  httpRequest,
  postJson,
  rawData,
  seg,
  type HttpResult,
} from '../helpers/http.js'
import { register, settings, signedBody, startTestRelay } from '../helpers/relay.js'

const alice = testIdentity(0xa1)
const bob = testIdentity(0xb0)
const carol = testIdentity(0xc4)
const OFF_CURVE_ID = '@AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519'

/** A relay whose rate limit stays out of the way of tests that send many requests. */
function relayFor(
  t: Parameters<typeof startTestRelay>[0],
  config: Parameters<typeof startTestRelay>[1] = {},
) {
  return startTestRelay(t, { rateLimit: { max: 1000 }, ...config })
}

const get = (relay: Relay, path: string, headers: Record<string, string> = {}) =>
  httpRequest(relay.httpPort(), { path, headers })

/** The `data` of a 200 envelope. */
function data(res: HttpResult): unknown {
  return assertJson(res, 200)['data']
}

test('registration: 201, then ALREADY_REGISTERED; the peer is authorised and listed', async (t) => {
  const relay = await relayFor(t)
  const res = await register(relay.httpPort(), alice, { nickname: 'alice' })
  assert.equal(res.text, `{"success":true,"data":{"public_id":"${alice.id}","registered":true}}`)
  assert.equal(res.status, 201)
  assert.equal(relay.registry.isAuthorized(alice.id), true)
  // the row of §9.5: authorised, no address, first_seen now
  const db = openDatabase(join(relay.dataDir, 'egregore.db'), { readonly: true })
  t.after(() => db.close())
  const row = db.prepare('SELECT * FROM known_peers').get() as Record<string, unknown>
  assert.equal(row['authorized'], 1)
  assert.equal(row['address'], null)
  assert.equal(row['private'], 0)
  assert.ok(Math.abs(Date.parse(String(row['first_seen'])) - Date.now()) < 60_000)
  assertError(await register(relay.httpPort(), alice), 400, 'ALREADY_REGISTERED')
  assert.deepEqual(data(await get(relay, '/v1/peers')), [
    { public_id: alice.id, nickname: 'alice', last_connected: null },
  ])
  assert.equal(
    (data(await get(relay, '/v1/status')) as { authorized_peers: number }).authorized_peers,
    1,
  )
})

test('registration errors come in the order of §9.5', async (t) => {
  const relay = await relayFor(t)
  const port = relay.httpPort()
  const post = (body: Record<string, unknown>) =>
    postJson(port, '/v1/register', JSON.stringify(body))
  const good = signedBody('register', alice)
  const long = 'é'.repeat(33) // 66 UTF-8 bytes
  // each case also breaks every later check, so only the order can explain the code
  assertError(
    await post({ ...good, public_id: OFF_CURVE_ID, nickname: long, signature: 'x' }),
    400,
    'INVALID_PUBLIC_ID',
  )
  assertError(await post({ ...good, nickname: long, signature: 'x' }), 400, 'NICKNAME_TOO_LONG')
  assertError(
    await post({ ...good, signature: 'not base64', timestamp: 'x' }),
    400,
    'INVALID_SIGNATURE',
  )
  assertError(await post({ ...good, timestamp: 'yesterday' }), 400, 'INVALID_TIMESTAMP')
  assertError(await register(port, alice, { offsetMs: 60_000 }), 400, 'INVALID_TIMESTAMP')
  assertError(
    await register(port, alice, { offsetMs: -301_000, signer: bob }),
    400,
    'STALE_REQUEST',
  )
  assertError(await register(port, alice, { signer: bob }), 400, 'SIGNATURE_INVALID')
  // a settings signature is not a registration signature
  assertError(
    await post({ ...signedBody('settings', alice), nickname: null }),
    400,
    'SIGNATURE_INVALID',
  )
  assert.equal(relay.registry.authorizedCount(), 0, 'nothing was registered')
  // 64 bytes is allowed; so is a null nickname
  assert.equal((await register(port, alice, { nickname: 'é'.repeat(32) })).status, 201)
  assert.equal((await register(port, bob, { nickname: null, private: true })).status, 201)
})

test('malformed registration bodies: INVALID_JSON, INVALID_BODY, UNSUPPORTED_MEDIA_TYPE', async (t) => {
  const relay = await relayFor(t)
  const port = relay.httpPort()
  const good = signedBody('register', alice)
  assertError(await postJson(port, '/v1/register', '{"public_id":'), 400, 'INVALID_JSON')
  assertError(await postJson(port, '/v1/register', '[]'), 422, 'INVALID_BODY')
  const unsigned = { ...good }
  delete unsigned['signature']
  assertError(
    await postJson(port, '/v1/register', JSON.stringify(unsigned)),
    422,
    'INVALID_BODY',
    "missing field 'signature'",
  )
  for (const patch of [{ public_id: 7 }, { nickname: 7 }, { private: 'yes' }, { timestamp: 1 }]) {
    assertError(
      await postJson(port, '/v1/register', JSON.stringify({ ...good, ...patch })),
      422,
      'INVALID_BODY',
    )
  }
  const res = await httpRequest(port, {
    method: 'POST',
    path: '/v1/register',
    body: JSON.stringify(good),
    headers: { 'content-type': 'text/plain' },
  })
  assertError(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
})

test('--max-peers: MAX_PEERS_REACHED once that many are registered; ALREADY_REGISTERED wins', async (t) => {
  const relay = await relayFor(t, { maxPeers: 2 })
  const port = relay.httpPort()
  assert.equal((await register(port, alice)).status, 201)
  assert.equal((await register(port, bob, { private: true })).status, 201)
  assertError(await register(port, carol), 400, 'MAX_PEERS_REACHED')
  assertError(await register(port, alice), 400, 'ALREADY_REGISTERED')
  // private peers count too (A.1 #7: registered peers, not addresses)
  assert.equal(
    (data(await get(relay, '/v1/status')) as { authorized_peers: number }).authorized_peers,
    2,
  )
})

test('registration and settings share a per-IP budget; beyond it 429 RATE_LIMITED with Retry-After', async (t) => {
  const relay = await startTestRelay(t, { rateLimit: { max: 3, windowMs: 60_000 } })
  const port = relay.httpPort()
  assert.equal((await register(port, alice)).status, 201)
  assertError(await postJson(port, '/v1/register', 'garbage'), 400, 'INVALID_JSON') // counts too
  assert.equal((await settings(port, alice, { private: true })).status, 200)
  const limited = await register(port, bob)
  assertError(limited, 429, 'RATE_LIMITED')
  const retry = Number(limited.headers['retry-after'])
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, String(retry))
  assertError(await settings(port, alice), 429, 'RATE_LIMITED')
  // reads are not limited
  assert.equal((await get(relay, '/v1/status')).status, 200)
  assert.equal(relay.registry.isAuthorized(bob.id), false)
})

test('the directory lists authorised non-private peers in registration order; settings toggle it', async (t) => {
  const relay = await relayFor(t)
  const port = relay.httpPort()
  await register(port, carol, { nickname: 'carol' })
  await register(port, alice, { private: true })
  await register(port, bob)
  const ids = async (): Promise<string[]> =>
    (data(await get(relay, '/v1/peers')) as { public_id: string }[]).map((p) => p.public_id)
  assert.deepEqual(await ids(), [carol.id, bob.id])
  assert.equal(
    (await settings(port, alice, { private: false })).text,
    '{"success":true,"data":{"updated":true}}',
  )
  assert.deepEqual(await ids(), [carol.id, alice.id, bob.id])
  // without `private` the flag is unchanged (the request still counts against replay)
  assert.equal((await settings(port, alice, { offsetMs: 1 })).status, 200)
  assert.deepEqual(await ids(), [carol.id, alice.id, bob.id])
  assert.equal((await settings(port, carol, { private: true })).status, 200)
  assert.deepEqual(await ids(), [alice.id, bob.id])
})

test('settings: replay is STALE_REQUEST; NOT_REGISTERED only after the signature checks', async (t) => {
  const relay = await relayFor(t)
  const port = relay.httpPort()
  await register(port, alice)
  const body = JSON.stringify(signedBody('settings', alice, { private: true }))
  assert.equal((await postJson(port, '/v1/settings', body)).status, 200)
  assertError(await postJson(port, '/v1/settings', body), 400, 'STALE_REQUEST', /not later/)
  // an earlier, still fresh timestamp is a replay too
  assertError(await settings(port, alice, { offsetMs: -10_000 }), 400, 'STALE_REQUEST')
  assertError(await settings(port, bob), 404, 'NOT_REGISTERED')
  assertError(await settings(port, bob, { signer: carol }), 400, 'SIGNATURE_INVALID')
  assertError(await settings(port, bob, { offsetMs: -400_000 }), 400, 'STALE_REQUEST')
  assertError(
    await postJson(
      port,
      '/v1/settings',
      JSON.stringify({ ...signedBody('settings', alice), public_id: 'x' }),
    ),
    400,
    'INVALID_PUBLIC_ID',
  )
  // a registration request is not a settings request
  assertError(
    await postJson(port, '/v1/settings', JSON.stringify(signedBody('register', alice))),
    400,
    'SIGNATURE_INVALID',
  )
})

test('status: keys in order with real counts; health; the API is public (no Host or Origin check)', async (t) => {
  const relay = await relayFor(t, { ttlDays: 7 })
  await register(relay.httpPort(), alice)
  await register(relay.httpPort(), bob, { private: true })
  await relay.engine.ingestMany([
    ...messagesOf(buildFeed(alice, 3)),
    ...messagesOf(buildFeed(carol, 2)),
  ])
  const status = data(
    await get(relay, '/v1/status', { host: 'relay.example.com', origin: 'https://evil.example' }),
  ) as Record<string, unknown>
  assert.deepEqual(Object.keys(status), [
    'version',
    'identity',
    'authorized_peers',
    'message_count',
    'feed_count',
    'ttl_days',
    'uptime_secs',
    'capped_feeds',
  ])
  assert.equal(status['version'], '0.0.0-test')
  assert.equal(status['identity'], relay.identity.id)
  assert.equal(status['authorized_peers'], 2)
  assert.equal(status['message_count'], 5)
  assert.equal(status['feed_count'], 2)
  assert.equal(status['ttl_days'], 7)
  assert.deepEqual(status['capped_feeds'], [])
  assert.equal((await get(relay, '/v1/health')).text, '{"success":true,"data":{"status":"ok"}}')
  assertError(await get(relay, '/v1/nope'), 404, 'NOT_FOUND')
  assertError(
    await httpRequest(relay.httpPort(), { method: 'DELETE', path: '/v1/peers' }),
    405,
    'METHOD_NOT_ALLOWED',
  )
})

test('feed routes: all authors newest first by page; one author ascending since a sequence', async (t) => {
  const relay = await relayFor(t)
  const a = messagesOf(buildFeed(alice, 5, { startMs: Date.UTC(2026, 0, 1) }))
  const b = messagesOf(buildFeed(bob, 2, { startMs: Date.UTC(2026, 0, 2) }))
  await relay.engine.ingestMany([...a, ...b])
  const page = async (query: string) => {
    const res = await get(relay, `/v1/feed${query}`)
    const env = assertJson(res, 200)
    const list = JSON.parse(rawData(res.text)) as { author: string; sequence: number }[]
    return {
      list: list.map((m) => `${m.author === alice.id ? 'a' : 'b'}${m.sequence}`),
      meta: env['metadata'],
    }
  }
  assert.deepEqual(await page('?per_page=3'), {
    list: ['b2', 'b1', 'a5'],
    meta: { page: 1, per_page: 3 },
  })
  assert.deepEqual(await page('?per_page=3&page=2'), {
    list: ['a4', 'a3', 'a2'],
    meta: { page: 2, per_page: 3 },
  })
  assert.deepEqual((await page('?page=0&per_page=1')).meta, { page: 1, per_page: 1 })
  assert.deepEqual((await page('?per_page=500')).meta, { page: 1, per_page: 200 })
  assert.deepEqual((await page('')).meta, { page: 1, per_page: 50 })
  assert.deepEqual((await page('?page=9')).list, [])
  assertError(await get(relay, '/v1/feed?page=-1'), 400, 'INVALID_QUERY')
  assertError(await get(relay, '/v1/feed?per_page=1&per_page=2'), 400, 'INVALID_QUERY')

  const byAuthor = async (query: string): Promise<number[]> => {
    const res = await get(relay, `/v1/feed/${seg(alice.id)}${query}`)
    const env = assertJson(res, 200)
    assert.ok(!('metadata' in env), 'no metadata on this route')
    return (JSON.parse(rawData(res.text)) as { sequence: number }[]).map((m) => m.sequence)
  }
  assert.deepEqual(await byAuthor(''), [1, 2, 3, 4, 5])
  assert.deepEqual(await byAuthor('?since_sequence=2&per_page=2'), [3, 4])
  assert.deepEqual(await byAuthor('?since_sequence=18446744073709551615'), [])
  // wire text is spliced byte for byte
  const res = await get(relay, `/v1/feed/${seg(alice.id)}?per_page=1`)
  assert.equal(rawData(res.text), `[${relay.store.messagesAfter(alice.id, 0, 1)[0]?.wireText}]`)
  assertError(await get(relay, '/v1/feed/not-an-id'), 400, 'INVALID_PUBLIC_ID')
  assertError(await get(relay, `/v1/feed/${seg(alice.id)}?since_sequence=x`), 400, 'INVALID_QUERY')
  assertError(
    await get(relay, `/v1/feed/${seg(alice.id)}?since_sequence=18446744073709551616`),
    400,
    'INVALID_QUERY',
  )
})

test('retention: evictNow removes what was received before the TTL, by receipt time', async (t) => {
  let now = Date.now()
  const clocked = await startTestRelay(t, { ttlDays: 1 }, { clock: { now: () => now } })
  // backdated by the author: kept, because it was received just now
  const old = messagesOf(buildFeed(alice, 2, { startMs: Date.UTC(2000, 0, 1) }))
  await clocked.engine.ingestMany(old)
  assert.deepEqual(clocked.evictNow(), [])
  now += 86_400_000 + 1
  const fresh = messagesOf(buildFeed(bob, 1))
  await clocked.engine.ingestMany(fresh)
  const evicted = clocked.evictNow()
  assert.deepEqual(
    evicted.map((e) => [e.author, e.floorSequence, e.messages]),
    [[alice.id, 2, 2]],
  )
  const status = clocked.status()
  assert.equal(status.message_count, 1)
  assert.equal(status.feed_count, 2, 'feed rows stay')
  // re-offered evicted messages are duplicates: no churn
  const again = await clocked.engine.ingestMany(old)
  assert.deepEqual(
    again.map((r) => r.status),
    ['duplicate', 'duplicate'],
  )
})

test('quota: a feed at --max-feed-bytes is capped, reported in status, and freed by eviction', async (t) => {
  let now = Date.now()
  const relay = await startTestRelay(
    t,
    { maxFeedBytes: 5000, ttlDays: 1 }, // ~520 bytes per message: capped after ~10
    { clock: { now: () => now } },
  )
  const feed = messagesOf(
    buildFeed(alice, 12, { contentFn: (n) => ({ type: 'note', pad: 'x'.repeat(200), n }) }),
  )
  await relay.engine.ingestMany(feed.slice(0, 6))
  assert.deepEqual(relay.status().capped_feeds, [])
  now += 86_400_000 + 1
  await relay.engine.ingestMany(feed.slice(6))
  assert.deepEqual(relay.status().capped_feeds, [alice.id])
  assert.deepEqual(
    (data(await get(relay, '/v1/status')) as { capped_feeds: string[] }).capped_feeds,
    [alice.id],
  )
  relay.evictNow() // the first six are past the TTL
  assert.deepEqual(relay.status().capped_feeds, [])
  assert.equal(relay.store.contiguousSequence(alice.id), 12)
})
