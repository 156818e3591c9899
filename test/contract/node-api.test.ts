/**
 * The node API against its OpenAPI document (docs/api/node-api.yaml): every served route is
 * documented and every documented route is served; real responses of every route, success and
 * error cases, validate against the schema documented for their status; every documented
 * status is exercised. The app is built as the node builds it (createHttpServer + REST routes +
 * SSE hub + MCP) on 127.0.0.1 port 0, with an `onRoute` hook recording what is registered.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import {
  createNodeService,
  createSseHub,
  registerMcp,
  registerRestRoutes,
} from '../../src/api/index.js'
import { fromPlainJson, parseTimestamp, timestampFromMillis } from '../../src/codec/index.js'
import { createInlineVerifier } from '../../src/crypto/index.js'
import { createFeedEngine, signMessage } from '../../src/feed/index.js'
import { API_ERROR_STATUS, createHttpServer, RELAY_ONLY_ERROR_CODES } from '../../src/http/index.js'
import { silentLogger } from '../../src/log.js'
import { createMessageStore, createStateStore, openDatabase } from '../../src/store/index.js'
import { BASE_MS, buildFeed, messagesOf, testIdentity } from '../helpers/feeds.js'
import {
  httpRequest,
  openSse,
  seg,
  waitFor,
  type HttpResult,
  type Teardown,
  STATUS_KEYS,
} from '../helpers/http.js'
import {
  createResponseChecker,
  loadSpec,
  operations,
  SchemaValidator,
  unexercised,
  type Schema,
} from './openapi.js'

const TOKEN = 'contract-test-token'
const AUTH = { authorization: `Bearer ${TOKEN}` }
const MCP_ACCEPT = { accept: 'application/json, text/event-stream' }
const CLI_PEER = '10.0.0.9:7655'

const spec = loadSpec()
const validator = new SchemaValidator(spec)

// ---- the app, as src/node/node.ts composes it ----------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'egregore-contract-'))
const db = openDatabase(join(dir, 'egregore.db'))
const store = createMessageStore(db)
const state = createStateStore(db)
const self = testIdentity(1)
const other = testIdentity(2) // its public ID contains both '/' and '+'
const enveloped = testIdentity(3)
const engine = createFeedEngine({ store, identity: self, verifier: createInlineVerifier() })
let boundPort = 0
const service = createNodeService({
  engine,
  store,
  state,
  info: {
    version: '0.0.0-contract',
    httpPort: () => boundPort,
    gossipPort: () => 7655,
    cliPeers: [CLI_PEER],
    startedAtMs: Date.now(),
    syncIntervalSecs: 300,
  },
})
const app = createHttpServer({ log: silentLogger, loopbackOnly: true, apiToken: TOKEN })
const served: { method: string; url: string }[] = []
app.addHook('onRoute', (route) => {
  for (const method of [route.method].flat()) served.push({ method, url: route.url })
})
const hub = createSseHub(
  { engine, store, log: silentLogger },
  { maxClients: 1, keepAliveMs: 60000 },
)
registerRestRoutes(app, service)
hub.register(app)
registerMcp(app, service, { version: '0.0.0-contract', port: () => boundPort })
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
boundPort = typeof address === 'object' && address !== null ? address.port : 0
const port = boundPort

after(async () => {
  hub.closeAll()
  await app.close()
  await engine.close()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

// ---- data: own and ingested messages, envelope fields, peers of every source, health --------

const own = await engine.publish(
  fromPlainJson({
    type: 'insight',
    title: 'Caching',
    observation: 'LRU beats FIFO for this workload',
  }),
)
await engine.publish(fromPlainJson({ type: 'note', text: 'hello contract' }))
const otherFeed = buildFeed(other, 3, {
  contentFn: (n) =>
    n === 1
      ? { type: 'insight', title: 'Indexes', observation: 'contract search term' }
      : { type: 'note', n },
})
const withEnvelope = signMessage(
  {
    author: enveloped.id,
    sequence: 1,
    previous: null,
    timestamp: timestampFromMillis(BASE_MS),
    content: fromPlainJson({ type: 'note', big: 1 }),
    schemaId: 'note/v1',
    relates: '0'.repeat(64),
    tags: ['a', 'b'],
    traceId: 'trace-1',
    spanId: 'span-1',
    expiresAt: parseTimestamp('2030-01-01T00:00:00.123456789Z'),
  },
  enveloped,
)
const ingested = await engine.ingestMany([...messagesOf(otherFeed), withEnvelope.message])
assert.ok(ingested.every((r) => r.status === 'stored'))
state.addLanPeer('192.168.1.5:7655')
state.addManualPeer('10.0.0.20:7655')
db.prepare(
  `INSERT INTO known_peers (public_id, address, authorized, first_seen) VALUES (?, '10.0.0.30:7655', 1, '2026-01-01T00:00:00Z')`,
).run(enveloped.id)
db.prepare(
  `INSERT INTO peer_health (peer_id, last_seen_at, last_seen_by, last_seq, generation, updated_at)
   VALUES (?, ?, 'self', 3, 2, ?)`,
).run(other.id, timestampFromMillis(Date.now() - 5000), timestampFromMillis(Date.now()))
state.follow(other.id)

// ---- checking responses against the document ----------------------------------------------

const { check, exercised } = createResponseChecker(spec, validator)

function get(path: string, headers: Record<string, string> = AUTH): Promise<HttpResult> {
  return httpRequest(port, { path, headers })
}
function send(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return httpRequest(port, {
    method,
    path,
    headers: {
      ...AUTH,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
  })
}

/** A concrete path for a documented template. */
function concrete(path: string): string {
  return path
    .replace('{author}', seg(other.id))
    .replace('{hash}', own.message.hash)
    .replace('{address}', seg('10.1.1.1:7655'))
}

/** A request that should succeed on each documented operation. */
async function probe(method: string, path: string): Promise<HttpResult> {
  if (path === '/v1/events') {
    return openSseOnce('/v1/events', AUTH)
  }
  const body =
    path === '/v1/publish'
      ? '{"content":{"type":"probe"}}'
      : path === '/v1/peers' && method === 'POST'
        ? '{"address":"10.1.1.1:7655"}'
        : path === '/mcp' && method === 'POST'
          ? initialize(1)
          : undefined
  const query = path === '/v1/insights/search' ? '?q=contract' : '' // its required parameter
  return send(method, concrete(path) + query, body, path === '/mcp' ? MCP_ACCEPT : {})
}

const cleanups: (() => unknown)[] = []
const teardown: Teardown = { after: (fn) => cleanups.push(fn) }
after(() => cleanups.forEach((fn) => fn()))

/** Open an event stream, keep its headers, close it and wait until the hub freed the slot. */
async function openSseOnce(path: string, headers: Record<string, string>): Promise<HttpResult> {
  const sse = await openSse(teardown, port, path, headers)
  if (sse.status === 200) await sse.waitForComments(1)
  sse.close()
  await waitFor(() => hub.clientCount() === 0, { what: 'the SSE slot to be freed' })
  return { status: sse.status, headers: sse.headers, text: '' }
}

function initialize(id: number): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'contract-test', version: '1' },
    },
  })
}

// ---- the document itself ----------------------------------------------------------------------

test('the document is OpenAPI 3.0.3 whose $refs resolve and whose schemas use only validated keywords', () => {
  assert.equal(spec.openapi, '3.0.3')
  assert.deepEqual(Object.keys(spec.components['securitySchemes'] ?? {}), ['bearerAuth'])
  for (const [name, schema] of Object.entries(spec.components['schemas'] ?? {}))
    validator.checkSchema(schema, name)
  const codes = validator.deref({ $ref: '#/components/schemas/ErrorCode' })['enum'] as string[]
  // The documented codes are exactly the ones the node's server can answer with.
  const relayOnly = new Set<string>(RELAY_ONLY_ERROR_CODES)
  const nodeCodes = Object.keys(API_ERROR_STATUS).filter((c) => !relayOnly.has(c))
  assert.deepEqual([...codes].sort(), nodeCodes.sort())
  for (const { method, path, op } of operations(spec)) {
    const where = `${method} ${path}`
    const params = (op.parameters ?? []).map((p) => validator.deref(p))
    for (const p of params) {
      assert.ok(
        typeof p['name'] === 'string' && typeof p['in'] === 'string',
        `${where}: bad parameter`,
      )
      if (p['schema'] !== undefined)
        validator.checkSchema(p['schema'] as Schema, `${where} ${p['name']}`)
    }
    // every template variable has a required path parameter, and vice versa
    const vars = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
    const pathParams = params.filter((p) => p['in'] === 'path')
    assert.deepEqual(
      pathParams.map((p) => p['name']).sort(),
      vars.sort(),
      `${where}: path parameters`,
    )
    for (const p of pathParams)
      assert.equal(
        p['required'],
        true,
        `${where}: path parameter ${String(p['name'])} must be required`,
      )
    assert.ok(Object.keys(op.responses).length > 0, `${where}: no responses`)
    for (const [status, r] of Object.entries(op.responses)) {
      assert.match(status, /^[1-5]\d\d$/, `${where}: response key ${status}`)
      const response = validator.deref(r)
      assert.equal(typeof response['description'], 'string', `${where} ${status}: description`)
      const content = response['content'] as Record<string, Schema> | undefined
      // Every response with a body references a schema; only 204 and MCP's 202 have none.
      if (content === undefined) {
        assert.ok(
          status === '204' || (path === '/mcp' && status === '202'),
          `${where} ${status}: no content documented`,
        )
        continue
      }
      for (const [media, c] of Object.entries(content)) {
        assert.ok(c['schema'] !== undefined, `${where} ${status} ${media}: no schema`)
        validator.checkSchema(c['schema'] as Schema, `${where} ${status} ${media}`)
      }
      if (
        status !== '200' &&
        status !== '201' &&
        media(content) === 'application/json' &&
        path !== '/mcp'
      ) {
        // REST errors are envelopes
        assert.ok(
          JSON.stringify(content).includes('ErrorEnvelope'),
          `${where} ${status}: not an error envelope`,
        )
      }
    }
  }
})

function media(content: Record<string, Schema>): string | undefined {
  return Object.keys(content)[0]
}

test('the validator rejects values that break the schemas (it is not vacuous)', () => {
  const ok = { success: true, data: [], metadata: { limit: 50, offset: 0 } }
  const list = { $ref: '#/components/schemas/MessageListEnvelope' }
  assert.deepEqual(validator.validate(list, ok), [])
  assert.notDeepEqual(validator.validate(list, { ...ok, metadata: null }), [])
  assert.notDeepEqual(validator.validate(list, { ...ok, error: null }), [])
  assert.notDeepEqual(
    validator.validate(list, { ...ok, metadata: { limit: 50, offset: 0, total: 3 } }),
    [],
  )
  assert.notDeepEqual(validator.validate(list, { success: true, data: [] }), [])
  assert.notDeepEqual(validator.validate(list, { ...ok, data: [{ author: 'x' }] }), [])
  const err = { $ref: '#/components/responses/Forbidden' }
  const schema = (validator.deref(err)['content'] as Record<string, Schema>)['application/json']?.[
    'schema'
  ] as Schema
  assert.deepEqual(
    validator.validate(schema, { success: false, error: { code: 'FORBIDDEN_HOST', message: 'x' } }),
    [],
  )
  assert.notDeepEqual(
    validator.validate(schema, { success: false, error: { code: 'NOT_FOUND', message: 'x' } }),
    [],
  )
  assert.notDeepEqual(
    validator.validate(schema, { success: false, error: { code: 'FORBIDDEN_HOST' } }),
    [],
  )
  assert.notDeepEqual(
    validator.validate(schema, {
      success: false,
      data: 1,
      error: { code: 'FORBIDDEN_HOST', message: 'x' },
    }),
    [],
  )
  const rpc = { $ref: '#/components/schemas/JsonRpcResponse' }
  assert.deepEqual(
    validator.validate(rpc, {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: 'Parse error' },
    }),
    [],
  )
  assert.notDeepEqual(
    validator.validate(rpc, {
      jsonrpc: '2.0',
      id: 1,
      result: {},
      error: { code: 1, message: 'x' },
    }),
    [],
  )
  assert.notDeepEqual(validator.validate(rpc, { jsonrpc: '2.0', id: 1 }), [])
  assert.throws(
    () => validator.checkSchema({ type: 'string', const: 'x' }, 'probe'),
    /unsupported schema keyword 'const'/,
  )
})

// ---- routes: served = documented ------------------------------------------------------------

test('every served route is documented and every documented route is served', () => {
  const toOpenApi = (url: string): string => url.replace(/:([A-Za-z_]+)/g, '{$1}')
  const gets = new Set(served.filter((r) => r.method === 'GET').map((r) => r.url))
  // HEAD is added by fastify for every GET route (exposeHeadRoutes); it is not documented.
  const servedOps = served
    .filter((r) => !(r.method === 'HEAD' && gets.has(r.url)))
    .map((r) => `${r.method} ${toOpenApi(r.url)}`)
    .sort()
  const documentedOps = operations(spec)
    .filter(({ op }) => op['x-method-not-allowed'] !== true)
    .map(({ method, path }) => `${method} ${path}`)
    .sort()
  assert.deepEqual(servedOps, documentedOps)
  assert.equal(new Set(servedOps).size, servedOps.length, 'a route is registered twice')
  // Operations documented as "not allowed" are on a served path, with a method it does not serve.
  for (const { method, path } of operations(spec).filter(
    ({ op }) => op['x-method-not-allowed'] === true,
  )) {
    assert.ok(
      servedOps.some((s) => s.endsWith(` ${path}`)),
      `${path} is not served at all`,
    )
    assert.ok(
      !servedOps.includes(`${method} ${path}`),
      `${method} ${path} is documented as not allowed but served`,
    )
  }
})

test('every documented operation is answered by its route (no route-not-found, 405 only where documented)', async () => {
  for (const { method, path, op } of operations(spec)) {
    const res = await probe(method, path)
    const where = `${method} ${path} → ${res.status} ${res.text}`
    if (op['x-method-not-allowed'] === true) {
      assert.equal(res.status, 405, where)
      assert.equal(res.headers['allow'], 'POST', where)
    } else {
      assert.ok(res.status !== 404 || !res.text.includes('route not found'), where)
      assert.notEqual(res.status, 405, where)
      assert.ok(res.status >= 200 && res.status < 300, where)
    }
    check(method, path, res)
  }
})

// ---- security: 401 and 403 on every operation ------------------------------------------------

test('every operation answers 401 without the token and 403 for a foreign Host or Origin', async () => {
  for (const { method, path } of operations(spec)) {
    const p = concrete(path)
    const noToken = await httpRequest(port, { method, path: p })
    assert.equal(noToken.status, 401, `${method} ${path}`)
    check(method, path, noToken)
    const wrongToken = await httpRequest(port, {
      method,
      path: p,
      headers: { authorization: 'Bearer nope' },
    })
    assert.equal(wrongToken.status, 401, `${method} ${path}`)
    check(method, path, wrongToken)
    const host = await httpRequest(port, {
      method,
      path: p,
      headers: { ...AUTH, host: 'evil.example:7654' },
    })
    assert.equal(host.status, 403, `${method} ${path}`)
    check(method, path, host)
    const origin = await httpRequest(port, {
      method,
      path: p,
      headers: { ...AUTH, origin: 'http://evil.example' },
    })
    assert.equal(origin.status, 403, `${method} ${path}`)
    check(method, path, origin)
  }
})

// ---- each route, success and main errors -----------------------------------------------------

test('GET /v1/status and /v1/identity', async () => {
  const status = check('GET', '/v1/status', await get('/v1/status')) as {
    data: Record<string, unknown>
  }
  assert.deepEqual(Object.keys(status.data), [...STATUS_KEYS])
  check('GET', '/v1/identity', await get('/v1/identity'))
})

test('POST /v1/publish: 201, with warnings, and its errors', async () => {
  check(
    'POST',
    '/v1/publish',
    await send(
      'POST',
      '/v1/publish',
      '{"content":{"type":"note","n":18446744073709551615,"f":1.0}}',
    ),
  )
  const warned = check(
    'POST',
    '/v1/publish',
    await send('POST', '/v1/publish', '{"content":{"type":"note","x":3e+23}}'),
  ) as {
    metadata?: { warnings?: string[] }
  }
  assert.equal(warned.metadata?.warnings?.length, 1)
  check('POST', '/v1/publish', await send('POST', '/v1/publish', '{"content":1}')) // INVALID_CONTENT
  const big = JSON.stringify({ content: { type: 'note', text: 'x'.repeat(70000) } })
  check('POST', '/v1/publish', await send('POST', '/v1/publish', big)) // FEED_INTEGRITY
  check('POST', '/v1/publish', await send('POST', '/v1/publish', '{"content":')) // INVALID_JSON
  check('POST', '/v1/publish', await send('POST', '/v1/publish', '')) // INVALID_JSON (empty)
  check('POST', '/v1/publish', await send('POST', '/v1/publish', '[]')) // 422
  check('POST', '/v1/publish', await send('POST', '/v1/publish', '{}')) // 422
  check(
    'POST',
    '/v1/publish',
    await send('POST', '/v1/publish', 'x', { 'content-type': 'text/plain' }),
  ) // 415
  check('POST', '/v1/publish', await send('POST', '/v1/publish', 'x'.repeat(1048577))) // 413
})

test('GET /v1/feed, /v1/feed/{author}, /v1/insights: pages of messages, including envelope fields', async () => {
  const feed = check('GET', '/v1/feed', await get('/v1/feed?limit=500')) as { data: unknown[] }
  assert.ok(feed.data.length >= 4)
  check('GET', '/v1/feed', await get('/v1/feed?include_self=true&content_type=note'))
  check('GET', '/v1/feed', await get('/v1/feed?limit=x'))
  const enveloped = check(
    'GET',
    '/v1/feed/{author}',
    await get(`/v1/feed/${seg(withEnvelope.message.author)}`),
  ) as {
    data: Record<string, unknown>[]
  }
  assert.deepEqual(Object.keys(enveloped.data[0] ?? {}), [
    'author',
    'sequence',
    'previous',
    'timestamp',
    'content',
    'schema_id',
    'relates',
    'tags',
    'trace_id',
    'span_id',
    'expires_at',
    'hash',
    'signature',
  ])
  check('GET', '/v1/feed/{author}', await get(`/v1/feed/${seg(other.id)}?offset=1`))
  check('GET', '/v1/feed/{author}', await get('/v1/feed/not-an-id'))
  check('GET', '/v1/feed/{author}', await get(`/v1/feed/${seg(other.id)}?offset=-1`))
  const insights = check('GET', '/v1/insights', await get('/v1/insights')) as { data: unknown[] }
  assert.equal(insights.data.length, 2)
  check('GET', '/v1/insights', await get('/v1/insights?limit=1&limit=2'))
})

test('GET /v1/insights/search: matches, MISSING_QUERY, INVALID_QUERY', async () => {
  const found = check(
    'GET',
    '/v1/insights/search',
    await get('/v1/insights/search?q=contract'),
  ) as { data: unknown[] }
  assert.ok(found.data.length >= 1)
  check('GET', '/v1/insights/search', await get('/v1/insights/search?q=%20'))
  check('GET', '/v1/insights/search', await get('/v1/insights/search'))
  check('GET', '/v1/insights/search', await get('/v1/insights/search?q=x&offset=abc'))
})

test('GET /v1/message/{hash}: found and not found', async () => {
  check('GET', '/v1/message/{hash}', await get(`/v1/message/${own.message.hash}`))
  check('GET', '/v1/message/{hash}', await get(`/v1/message/${'0'.repeat(64)}`))
  check('GET', '/v1/message/{hash}', await get('/v1/message/zz'))
})

test('peers: list with every source, add, remove, and their errors', async () => {
  const list = check('GET', '/v1/peers', await get('/v1/peers')) as { data: { source: string }[] }
  assert.deepEqual([...new Set(list.data.map((p) => p.source))].sort(), [
    'cli',
    'known',
    'lan',
    'manual',
  ])
  check('POST', '/v1/peers', await send('POST', '/v1/peers', '{"address":"[::1]:7655"}'))
  check('POST', '/v1/peers', await send('POST', '/v1/peers', '{"address":":7655"}'))
  check('POST', '/v1/peers', await send('POST', '/v1/peers', '{"address":'))
  check('POST', '/v1/peers', await send('POST', '/v1/peers', '{"address":7655}'))
  check('POST', '/v1/peers', await send('POST', '/v1/peers', 'x', { 'content-type': 'text/plain' }))
  check('POST', '/v1/peers', await send('POST', '/v1/peers', 'x'.repeat(1048577)))
  check('DELETE', '/v1/peers/{address}', await send('DELETE', `/v1/peers/${seg('[::1]:7655')}`))
  check('DELETE', '/v1/peers/{address}', await send('DELETE', '/v1/peers/host%3A70000'))
})

test('follows: list, follow, unfollow, INVALID_AUTHOR', async () => {
  check('POST', '/v1/follows/{author}', await send('POST', `/v1/follows/${seg(enveloped.id)}`))
  check('POST', '/v1/follows/{author}', await send('POST', `/v1/follows/${seg(other.id)}`))
  const list = check('GET', '/v1/follows', await get('/v1/follows')) as { data: unknown[] }
  assert.equal(list.data.length, 2)
  check('POST', '/v1/follows/{author}', await send('POST', '/v1/follows/bad'))
  check('DELETE', '/v1/follows/{author}', await send('DELETE', `/v1/follows/${seg(enveloped.id)}`))
  check('DELETE', '/v1/follows/{author}', await send('DELETE', '/v1/follows/bad'))
})

test('GET /v1/mesh with an observed peer', async () => {
  const mesh = check('GET', '/v1/mesh', await get('/v1/mesh')) as {
    data: { peers: { status: string }[] }
  }
  assert.equal(mesh.data.peers.length, 1)
  assert.equal(mesh.data.peers[0]?.status, 'recent')
})

test('GET /v1/events: each event carries a Message; filter errors; the subscriber limit', async () => {
  const stream = await openSse(
    teardown,
    port,
    `/v1/events?last_event_id=0&author=${seg(other.id)}`,
    AUTH,
  )
  check('GET', '/v1/events', { status: stream.status, headers: stream.headers })
  const events = await stream.waitForEvents(otherFeed.length)
  const message = { $ref: '#/components/schemas/Message' }
  for (const e of events)
    assert.deepEqual(validator.validate(message, JSON.parse(e.data)), [], e.data)
  assert.match(stream.raw(), /^:\n\n(id:\d+\ndata:\{[^\n]*\}\n\n)+$/) // the documented framing
  check('GET', '/v1/events', await get('/v1/events')) // 503: maxClients is 1
  stream.close()
  await waitFor(() => hub.clientCount() === 0, { what: 'the SSE slot to be freed' })
  check('GET', '/v1/events', await get('/v1/events?author=bad'))
  check('GET', '/v1/events', await get('/v1/events?last_event_id=x'))
})

test('POST /mcp: JSON-RPC answers from the SDK and envelope answers before it', async () => {
  const init = check('POST', '/mcp', await send('POST', '/mcp', initialize(7), MCP_ACCEPT)) as {
    id: number
    result: unknown
  }
  assert.equal(init.id, 7)
  const note = await send(
    'POST',
    '/mcp',
    '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    MCP_ACCEPT,
  )
  assert.equal(note.status, 202)
  check('POST', '/mcp', note)
  check('POST', '/mcp', await send('POST', '/mcp', initialize(8), { accept: 'application/json' })) // 406
  check('POST', '/mcp', await send('POST', '/mcp', '{"jsonrpc":', MCP_ACCEPT)) // 400 parse error
  check(
    'POST',
    '/mcp',
    await send('POST', '/mcp', 'x', { ...MCP_ACCEPT, 'content-type': 'text/plain' }),
  ) // 415
  check('POST', '/mcp', await send('POST', '/mcp', 'x'.repeat(1048577), MCP_ACCEPT)) // 413
  // Host without the bound port passes §7.1 but not the SDK's allowed hosts (§7.7).
  const sdkHost = await send('POST', '/mcp', initialize(9), { ...MCP_ACCEPT, host: '127.0.0.1' })
  assert.equal(sdkHost.status, 403, sdkHost.text)
  check('POST', '/mcp', sdkHost)
  check('GET', '/mcp', await send('GET', '/mcp'))
  check('DELETE', '/mcp', await send('DELETE', '/mcp'))
})

test('POST /v1/publish while the node shuts down: 503 SERVICE_UNAVAILABLE', async () => {
  await engine.close()
  const res = await send('POST', '/v1/publish', '{"content":{"type":"note"}}')
  assert.equal(res.status, 503)
  check('POST', '/v1/publish', res)
})

// Must stay last: it reads what the tests above exercised.
test('every documented response status was exercised, except 500', () => {
  assert.deepEqual(unexercised(spec, exercised), [])
})
