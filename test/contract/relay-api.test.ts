/**
 * The relay API against its OpenAPI document (docs/api/relay-api.yaml): every served route is
 * documented and every documented route is served; real responses of every route, success and
 * error cases, validate against the schema documented for their status; every documented status
 * is exercised. The app is built as src/relay/relay.ts builds it (createHttpServer without the
 * loopback checks + the relay routes) on 127.0.0.1 port 0, with the rate limiter and the health
 * probe's database read under the test's control.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { createInlineVerifier } from '../../src/crypto/index.js'
import { createFeedEngine } from '../../src/feed/index.js'
import { API_ERROR_STATUS, createHttpServer, RELAY_ONLY_ERROR_CODES } from '../../src/http/index.js'
import { silentLogger } from '../../src/log.js'
import { registerRelayRoutes, type RateLimiter } from '../../src/relay/index.js'
import { createMessageStore, createRelayStore, openDatabase } from '../../src/store/index.js'
import { buildFeed, messagesOf, testIdentity } from '../helpers/feeds.js'
import { httpRequest, seg, type HttpResult } from '../helpers/http.js'
import { signedBody } from '../helpers/relay.js'
import {
  createResponseChecker,
  loadSpec,
  operations,
  RELAY_SPEC_PATH,
  SchemaValidator,
  unexercised,
  type Schema,
} from './openapi.js'

const spec = loadSpec(RELAY_SPEC_PATH)
const validator = new SchemaValidator(spec)
const { check, exercised } = createResponseChecker(spec, validator)

/** The codes the relay can answer: the generic ones of §7.3 and those of §9.5. */
const RELAY_CODES = [
  'INVALID_JSON',
  'BAD_REQUEST',
  'INVALID_BODY',
  'INVALID_QUERY',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'METHOD_NOT_ALLOWED',
  'NOT_FOUND',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_ERROR',
  'SIGNATURE_INVALID',
  ...RELAY_ONLY_ERROR_CODES,
]

// ---- the app, as src/relay/relay.ts composes it --------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'egregore-relay-contract-'))
const db = openDatabase(join(dir, 'egregore.db'))
const store = createMessageStore(db)
const registry = createRelayStore(db)
const self = testIdentity(1)
const alice = testIdentity(0xa1)
const bob = testIdentity(2) // its public ID contains both '/' and '+'
const carol = testIdentity(0xc4)
const engine = createFeedEngine({ store, identity: self, verifier: createInlineVerifier() })
let limited = false
let databaseBroken = false
const limiter: RateLimiter = {
  take: () => (limited ? { allowed: false, retryAfterSecs: 42 } : { allowed: true }),
  size: () => 0,
}
const app = createHttpServer({ log: silentLogger, loopbackOnly: false })
const served: { method: string; url: string }[] = []
app.addHook('onRoute', (route) => {
  for (const method of [route.method].flat()) served.push({ method, url: route.url })
})
registerRelayRoutes(app, {
  registry: {
    ...registry,
    ping() {
      if (databaseBroken) throw new Error('disk gone')
      registry.ping()
    },
  },
  store,
  limiter,
  clock: Date,
  maxPeers: 2,
  log: silentLogger,
  status: () => ({
    version: '0.0.0-contract',
    identity: self.id,
    authorized_peers: registry.authorizedCount(),
    message_count: store.counts().messageCount,
    feed_count: store.counts().feedCount,
    ttl_days: 30,
    uptime_secs: 0,
    capped_feeds: [carol.id],
  }),
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : 0

after(async () => {
  await app.close()
  await engine.close()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

await engine.ingestMany([
  ...messagesOf(buildFeed(alice, 3)),
  ...messagesOf(
    buildFeed(bob, 2, { contentFn: (n) => ({ type: 'note', big: 2n ** 64n - 1n, n }) }),
  ),
])

// ---- requests ----------------------------------------------------------------------------------

const get = (path: string): Promise<HttpResult> => httpRequest(port, { path })
function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return httpRequest(port, {
    method: 'POST',
    path,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
}

function concrete(path: string): string {
  return path.replace('{author}', seg(alice.id))
}

/** A request that should succeed on each documented operation. */
function probe(method: string, path: string): Promise<HttpResult> {
  if (path === '/v1/register') return post(path, signedBody('register', testIdentity(0x77)))
  if (path === '/v1/settings')
    return post(path, signedBody('settings', testIdentity(0x77), { offsetMs: 1 }))
  return httpRequest(port, { method, path: concrete(path) })
}

// ---- the document itself ----------------------------------------------------------------------

test('the document is OpenAPI 3.0.3 whose $refs resolve and whose schemas use only validated keywords', () => {
  assert.equal(spec.openapi, '3.0.3')
  assert.equal(spec.security, undefined, 'the relay API has no authentication')
  for (const [name, schema] of Object.entries(spec.components['schemas'] ?? {}))
    validator.checkSchema(schema, name)
  const codes = validator.deref({ $ref: '#/components/schemas/ErrorCode' })['enum'] as string[]
  assert.deepEqual([...codes].sort(), [...RELAY_CODES].sort())
  for (const c of codes) assert.ok(c in API_ERROR_STATUS, `${c} has an HTTP status`)
  for (const { method, path, op } of operations(spec)) {
    const where = `${method} ${path}`
    const params = (op.parameters ?? []).map((p) => validator.deref(p))
    for (const p of params)
      if (p['schema'] !== undefined)
        validator.checkSchema(p['schema'] as Schema, `${where} ${String(p['name'])}`)
    const vars = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
    const pathParams = params.filter((p) => p['in'] === 'path')
    assert.deepEqual(
      pathParams.map((p) => p['name']),
      vars,
      `${where}: path parameters`,
    )
    for (const [status, r] of Object.entries(op.responses)) {
      const response = validator.deref(r)
      assert.equal(typeof response['description'], 'string', `${where} ${status}: description`)
      const content = response['content'] as Record<string, Schema> | undefined
      assert.ok(content !== undefined, `${where} ${status}: no content documented`)
      for (const c of Object.values(content))
        validator.checkSchema(c['schema'] as Schema, `${where} ${status}`)
      if (!status.startsWith('2'))
        assert.ok(JSON.stringify(content).includes('ErrorEnvelope'), `${where} ${status}`)
    }
  }
})

test('every served route is documented and every documented route is served', () => {
  const toOpenApi = (url: string): string => url.replace(/:([A-Za-z_]+)/g, '{$1}')
  const gets = new Set(served.filter((r) => r.method === 'GET').map((r) => r.url))
  const servedOps = served
    .filter((r) => !(r.method === 'HEAD' && gets.has(r.url)))
    .map((r) => `${r.method} ${toOpenApi(r.url)}`)
    .sort()
  const documented = operations(spec)
    .map(({ method, path }) => `${method} ${path}`)
    .sort()
  assert.deepEqual(servedOps, documented)
})

test('every documented operation is answered by its route with a 2xx', async () => {
  // In document order: the probe registers an identity, then changes its settings.
  for (const { method, path } of operations(spec)) {
    const res = await probe(method, path)
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${path} → ${res.text}`)
    check(method, path, res)
  }
})

// ---- each route, success and every documented error ------------------------------------------

test('POST /v1/register: 201 and every error status', async () => {
  const r = '/v1/register'
  check('POST', r, await post(r, signedBody('register', alice, { nickname: 'alice' })))
  check('POST', r, await post(r, signedBody('register', alice))) // ALREADY_REGISTERED
  check('POST', r, await post(r, signedBody('register', carol))) // MAX_PEERS_REACHED (2)
  check('POST', r, await post(r, { ...signedBody('register', bob), signature: 'x' }))
  check('POST', r, await post(r, { ...signedBody('register', bob), public_id: 'x' }))
  check('POST', r, await post(r, signedBody('register', bob, { nickname: 'x'.repeat(65) })))
  check('POST', r, await post(r, signedBody('register', bob, { offsetMs: -400_000 })))
  check('POST', r, await post(r, '{"public_id":')) // INVALID_JSON
  check('POST', r, await post(r, '[]')) // 422
  check('POST', r, await post(r, { ...signedBody('register', bob), private: 'no' })) // 422
  check('POST', r, await post(r, 'x', { 'content-type': 'text/plain' })) // 415
  check('POST', r, await post(r, 'x'.repeat(1048577))) // 413
  limited = true
  const res = await post(r, signedBody('register', bob))
  limited = false
  assert.equal(res.headers['retry-after'], '42')
  check('POST', r, res) // 429 with Retry-After
})

test('POST /v1/settings: 200 and every error status', async () => {
  const r = '/v1/settings'
  check('POST', r, await post(r, signedBody('settings', alice, { private: true })))
  check('POST', r, await post(r, signedBody('settings', alice, { private: true }))) // replay
  check('POST', r, await post(r, signedBody('settings', carol))) // NOT_REGISTERED
  check('POST', r, await post(r, { ...signedBody('settings', alice), timestamp: 'x' }))
  check('POST', r, await post(r, '{'))
  check('POST', r, await post(r, { public_id: alice.id })) // 422
  check('POST', r, await post(r, 'x', { 'content-type': 'text/plain' }))
  check('POST', r, await post(r, 'x'.repeat(1048577)))
  limited = true
  const res = await post(r, signedBody('settings', alice))
  limited = false
  check('POST', r, res)
})

test('GET /v1/peers, /v1/status, /v1/health (200 and 503)', async () => {
  check('GET', '/v1/peers', await get('/v1/peers'))
  const status = check('GET', '/v1/status', await get('/v1/status')) as {
    data: Record<string, unknown>
  }
  assert.equal(status.data['message_count'], 5)
  check('GET', '/v1/health', await get('/v1/health'))
  databaseBroken = true
  const down = await get('/v1/health')
  databaseBroken = false
  assert.equal(down.status, 503)
  check('GET', '/v1/health', down)
})

test('GET /v1/feed and /v1/feed/{author}: pages of wire text, and INVALID_QUERY / INVALID_PUBLIC_ID', async () => {
  const page = check('GET', '/v1/feed', await get('/v1/feed?page=2&per_page=2')) as {
    data: unknown[]
    metadata: unknown
  }
  assert.equal(page.data.length, 2)
  assert.deepEqual(page.metadata, { page: 2, per_page: 2 })
  check('GET', '/v1/feed', await get('/v1/feed?page=x'))
  const f = '/v1/feed/{author}'
  const list = check('GET', f, await get(`/v1/feed/${seg(bob.id)}?since_sequence=1`)) as {
    data: { sequence: number }[]
  }
  assert.deepEqual(
    list.data.map((m) => m.sequence),
    [2],
  )
  check('GET', f, await get('/v1/feed/not-an-id'))
  check('GET', f, await get(`/v1/feed/${seg(bob.id)}?per_page=-1`))
})

// Must stay last: it reads what the tests above exercised.
test('every documented response status was exercised, except 500', () => {
  assert.deepEqual(unexercised(spec, exercised), [])
})
