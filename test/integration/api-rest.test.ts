/**
 * The node's REST API on a real node (127.0.0.1, port 0): status codes and envelopes exactly as
 * PROTOCOL.md §7.1–7.5 lists them, lossless publish round trips, pagination, peers and follows,
 * and the Host / Origin / bearer-token rules on every route.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseJson, timestampFromMillis } from '../../src/codec/index.js'
import { parseMessage, verifyMessage } from '../../src/feed/index.js'
import { openDatabase } from '../../src/store/index.js'
import { buildFeed, messagesOf, testIdentity } from '../helpers/feeds.js'
import {
  assertError,
  assertJson,
  httpRequest,
  openSse,
  postJson,
  rawData,
  seg,
  startTestNode,
  waitFor,
  type HttpResult,
  STATUS_KEYS,
} from '../helpers/http.js'

const other = testIdentity(2) // its public ID contains '/' and '+'
const third = testIdentity(3)

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return httpRequest(port, { path, headers })
}

/** Parse the messages of a list envelope's `data` (plain JSON is enough for these checks). */
function dataOf(res: HttpResult): unknown {
  return (JSON.parse(res.text) as { data: unknown }).data
}

// ---- publish -------------------------------------------------------------------------------

test('publish answers 201 with the stored wire text; /v1/message/:hash returns the same bytes', async (t) => {
  const { node, port } = await startTestNode(t)
  const content = '{"big":18446744073709551615,"f":1.0,"neg":-9223372036854775808,"type":"note"}'
  const res = await postJson(port, '/v1/publish', `{"content":${content},"ignored":true}`)
  assert.equal(res.status, 201)
  assertJson(res, 201)
  const wire = rawData(res.text)
  assert.equal(res.text, `{"success":true,"data":${wire}}`) // no metadata without warnings
  const m =
    /^\{"author":"([^"]+)","sequence":1,"previous":null,"timestamp":"([^"]+)","content":(.*),"hash":"([0-9a-f]{64})","signature":"([^"]+)"\}$/.exec(
      wire,
    )
  assert.ok(m !== null, wire)
  assert.equal(m[1], node.identity.id)
  assert.equal(m[3], content, 'content comes back byte for byte: 64-bit integers and 1.0 intact')
  assert.ok(verifyMessage(parseMessage(parseJson(wire))), 'the echoed message verifies')
  assert.equal(node.store.messageByHash(m[4]!)?.wireText, wire)

  const byHash = await get(port, `/v1/message/${m[4]!}`)
  assert.equal(byHash.status, 200)
  assert.equal(byHash.text, `{"success":true,"data":${wire}}`)

  // sequence 2 links to 1
  const second = await postJson(port, '/v1/publish', '{"content":{"type":"note","text":"two"}}')
  assert.equal(second.status, 201)
  assert.match(
    rawData(second.text),
    new RegExp(`^\\{"author":"[^"]+","sequence":2,"previous":"${m[4]!}",`),
  )
})

test('publish keys content canonically and reports interop float warnings in metadata', async (t) => {
  const { port } = await startTestNode(t)
  const res = await postJson(
    port,
    '/v1/publish',
    '{"content":{"z":1,"type":"note","a":[1.5,2e-7,1e16]}}',
  )
  assert.equal(res.status, 201)
  assert.match(rawData(res.text), /"content":\{"a":\[1\.5,2e-7,1e\+16\],"type":"note","z":1\}/)
  const warned = await postJson(port, '/v1/publish', '{"content":{"type":"note","x":3e+23}}')
  const env = assertJson(warned, 201)
  assert.deepEqual(Object.keys(env), ['success', 'data', 'metadata'])
  const meta = env['metadata'] as { warnings: string[] }
  assert.deepEqual(Object.keys(meta), ['warnings'])
  assert.equal(meta.warnings.length, 1)
  assert.match(meta.warnings[0]!, /float at \/x/)
})

test('publish errors: INVALID_CONTENT, FEED_INTEGRITY, INVALID_JSON, INVALID_BODY', async (t) => {
  const { port } = await startTestNode(t)
  const contentMsg = "content must be a JSON object with a non-empty string 'type' field"
  for (const content of ['1', 'null', '"x"', '[]', '{}', '{"type":""}', '{"type":7}']) {
    assertError(
      await postJson(port, '/v1/publish', `{"content":${content}}`),
      400,
      'INVALID_CONTENT',
      contentMsg,
    )
  }
  assertError(
    await postJson(port, '/v1/publish', '{"content":{"type":"insight","title":"t"}}'),
    400,
    'INVALID_CONTENT',
    "insight content requires field 'observation'",
  )
  // 65536 bytes of canonical content pass; one more fails
  const fill = (n: number): string => 'x'.repeat(n - '{"text":"","type":"note"}'.length)
  assert.equal(
    (await postJson(port, '/v1/publish', `{"content":{"type":"note","text":"${fill(65536)}"}}`))
      .status,
    201,
  )
  assertError(
    await postJson(port, '/v1/publish', `{"content":{"type":"note","text":"${fill(65537)}"}}`),
    400,
    'FEED_INTEGRITY',
    'feed integrity violation: content too large: 65537 bytes (max 65536)',
  )
  assertError(
    await postJson(port, '/v1/publish', '{"content":{"type":"note"}'),
    400,
    'INVALID_JSON',
    /^invalid JSON body: /,
  )
  assertError(
    await postJson(port, '/v1/publish', '{"content":01}'),
    400,
    'INVALID_JSON',
    /^invalid JSON body: /,
  )
  assertError(
    await postJson(port, '/v1/publish', ''),
    400,
    'INVALID_JSON',
    'invalid JSON body: empty body',
  )
  assertError(
    await postJson(port, '/v1/publish', '[{"content":{"type":"note"}}]'),
    422,
    'INVALID_BODY',
  )
  assertError(await postJson(port, '/v1/publish', '"text"'), 422, 'INVALID_BODY')
  assertError(
    await postJson(port, '/v1/publish', '{"contents":{"type":"note"}}'),
    422,
    'INVALID_BODY',
    "missing field 'content'",
  )
})

test('body rules: 415 without a JSON content type, 413 over 1 MiB', async (t) => {
  const { port } = await startTestNode(t)
  const body = '{"content":{"type":"note"}}'
  const expected = 'expected Content-Type: application/json'
  const post = (
    headers: Record<string, string>,
    b: string | undefined = body,
  ): Promise<HttpResult> =>
    httpRequest(port, {
      method: 'POST',
      path: '/v1/publish',
      headers,
      ...(b === undefined ? {} : { body: b }),
    })
  assertError(await post({ 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE', expected)
  assertError(await post({}), 415, 'UNSUPPORTED_MEDIA_TYPE', expected)
  assertError(await post({}, undefined), 415, 'UNSUPPORTED_MEDIA_TYPE', expected)
  assertError(
    await post({ 'content-type': 'application/jsonx' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    expected,
  )
  assertError(
    await httpRequest(port, {
      method: 'POST',
      path: '/v1/peers',
      headers: { 'content-type': 'text/plain' },
      body: 'a:1',
    }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  )
  assert.equal((await post({ 'content-type': 'application/json; charset=utf-8' })).status, 201)
  assert.equal((await post({ 'content-type': 'Application/JSON' })).status, 201)

  const padding = ' '.repeat(1048576 - body.length)
  assert.equal(
    (await postJson(port, '/v1/publish', body + padding)).status,
    201,
    'exactly 1 MiB is accepted',
  )
  assertError(
    await postJson(port, '/v1/publish', body + padding + ' '),
    413,
    'PAYLOAD_TOO_LARGE',
    'request body exceeds 1048576 bytes',
  )
})

// ---- routing -------------------------------------------------------------------------------

test('unknown paths are 404 route not found; known paths with a wrong method are 405 with Allow', async (t) => {
  const { port } = await startTestNode(t)
  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/v1/nothing'],
    ['POST', '/v2/publish'],
    ['GET', '/v1/feed/a/b'],
    ['DELETE', '/v1/message'],
  ] as const) {
    assertError(await httpRequest(port, { method, path }), 404, 'NOT_FOUND', 'route not found')
  }
  for (const [method, path, allow] of [
    ['PUT', '/v1/status', 'GET'],
    ['POST', '/v1/status', 'GET'],
    ['GET', '/v1/publish', 'POST'],
    ['DELETE', '/v1/feed', 'GET'],
    ['PATCH', `/v1/feed/${seg(other.id)}`, 'GET'],
    ['PUT', '/v1/peers', 'GET, POST'],
    ['GET', '/v1/peers/a%3A1', 'DELETE'],
    ['PUT', `/v1/follows/${seg(other.id)}`, 'POST, DELETE'],
    ['POST', '/v1/events', 'GET'],
    ['GET', '/mcp', 'POST'],
    ['DELETE', '/mcp', 'POST'],
  ] as const) {
    const res = await httpRequest(port, { method, path })
    assertError(res, 405, 'METHOD_NOT_ALLOWED', 'method not allowed')
    assert.equal(res.headers['allow'], allow, `${method} ${path}`)
  }
})

test('a trailing slash on a GET route is not answered 405 with Allow: GET', async (t) => {
  const { port } = await startTestNode(t)
  const res = await get(port, '/v1/status/')
  // §7.3: 405 is for a known path with a wrong method; GET is the right one. Expected 404
  // route not found (or the route itself); the not-found handler strips the slash, then matches.
  assert.notEqual(
    res.status,
    405,
    `${res.status} allow=${String(res.headers['allow'])} ${res.text}`,
  )
  assertError(res, 404, 'NOT_FOUND', 'route not found')
})

/** Write raw bytes on a new connection; resolves with everything the server sent until it closed. */
async function rawExchange(port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (received += d))
  socket.on('error', () => undefined)
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  socket.end(bytes)
  await waitFor(() => socket.closed, { what: 'the server to close the connection' })
  return received
}

test('a request without Host (HTTP/1.0) is 403 FORBIDDEN_HOST', async (t) => {
  const { port } = await startTestNode(t)
  const answer = await rawExchange(port, 'GET /v1/status HTTP/1.0\r\n\r\n')
  assert.match(answer, /^HTTP\/1\.1 403 /)
  assert.ok(
    answer.endsWith(
      '\r\n\r\n{"success":false,"error":{"code":"FORBIDDEN_HOST","message":"host not allowed"}}',
    ),
    answer,
  )
})

test('a malformed HTTP request gets an error envelope', async (t) => {
  const { port } = await startTestNode(t)
  const answer = await rawExchange(port, 'NOT AN HTTP REQUEST\r\n\r\n')
  assert.match(answer, /^HTTP\/1\.1 400 /)
  // §7.3: "Every error response, including malformed requests, uses the envelope."
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4)
  assert.match(body, /^\{"success":false,"error":\{"code":"[A-Z_]+","message":"[^"]*"\}\}$/, body)
})

// ---- query parameters and pagination -------------------------------------------------------

test('bad or repeated query parameters are 400 INVALID_QUERY', async (t) => {
  const { port } = await startTestNode(t)
  for (const [query, name] of [
    ['limit=abc', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=%2B5', 'limit'],
    ['limit=4294967296', 'limit'],
    ['offset=-5', 'offset'],
    ['offset=x', 'offset'],
    ['include_self=yes', 'include_self'],
    ['include_self=TRUE', 'include_self'],
    ['include_self=1', 'include_self'],
  ]) {
    assertError(
      await get(port, `/v1/feed?${query}`),
      400,
      'INVALID_QUERY',
      `invalid query parameter '${name}'`,
    )
  }
  for (const query of [
    'limit=1&limit=2',
    'offset=0&offset=0',
    'content_type=a&content_type=b',
    'include_self=true&include_self=true',
  ]) {
    assertError(await get(port, `/v1/feed?${query}`), 400, 'INVALID_QUERY', /repeated/)
  }
  assertError(await get(port, '/v1/insights?limit=x'), 400, 'INVALID_QUERY')
  assertError(await get(port, `/v1/feed/${seg(other.id)}?offset=y`), 400, 'INVALID_QUERY')
  assertError(await get(port, '/v1/insights/search?q=a&limit=z'), 400, 'INVALID_QUERY')
  assertError(await get(port, '/v1/insights/search?q=a&q=b'), 400, 'INVALID_QUERY')
  // unknown parameters are ignored; the largest integer is accepted
  const ok = await get(port, '/v1/feed?unknown=1&offset=4294967295&limit=4294967295')
  assert.equal(ok.text, '{"success":true,"data":[],"metadata":{"limit":200,"offset":4294967295}}')
})

test('limit defaults to 50 and is clamped to 200; offset pages; newest first; metadata shows effective values', async (t) => {
  const { node, port } = await startTestNode(t)
  const feed = buildFeed(other, 250)
  await node.engine.ingestMany(messagesOf(feed))
  const seqs = (res: HttpResult): number[] =>
    (dataOf(res) as { sequence: number }[]).map((m) => m.sequence)
  const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from - i)

  const first = await get(port, '/v1/feed')
  assertJson(first, 200)
  assert.deepEqual(seqs(first), range(250, 50))
  assert.match(first.text, /,"metadata":\{"limit":50,"offset":0\}\}$/)

  const clamped = await get(port, '/v1/feed?limit=999')
  assert.deepEqual(seqs(clamped), range(250, 200))
  assert.match(clamped.text, /,"metadata":\{"limit":200,"offset":0\}\}$/)

  const paged = await get(port, '/v1/feed?limit=20&offset=240')
  assert.deepEqual(seqs(paged), range(10, 10))
  assert.match(paged.text, /,"metadata":\{"limit":20,"offset":240\}\}$/)

  const zero = await get(port, '/v1/feed?limit=0')
  assert.equal(zero.text, '{"success":true,"data":[],"metadata":{"limit":0,"offset":0}}')

  const byAuthor = await get(port, `/v1/feed/${seg(other.id)}?limit=3&offset=1`)
  assert.deepEqual(seqs(byAuthor), [249, 248, 247])
  assert.match(byAuthor.text, /,"metadata":\{"limit":3,"offset":1\}\}$/)

  // list data are the stored wire texts, spliced verbatim
  const text = rawData(byAuthor.text)
  assert.equal(text, `[${[249, 248, 247].map((s) => feed[s - 1]!.wireText).join(',')}]`)
})

test('feed excludes our own messages unless include_self=true; content_type filters', async (t) => {
  const { node, port } = await startTestNode(t)
  await postJson(port, '/v1/publish', '{"content":{"type":"note","text":"own 1"}}')
  await postJson(port, '/v1/publish', '{"content":{"type":"alpha","text":"own 2"}}')
  await node.engine.ingestMany(
    messagesOf(
      buildFeed(other, 3, { contentFn: (n) => ({ type: n === 2 ? 'alpha' : 'note', n }) }),
    ),
  )
  const authors = (res: HttpResult): string[] =>
    (dataOf(res) as { author: string }[]).map((m) => m.author)
  assert.deepEqual(authors(await get(port, '/v1/feed')), [other.id, other.id, other.id])
  assert.deepEqual(authors(await get(port, '/v1/feed?include_self=false')), [
    other.id,
    other.id,
    other.id,
  ])
  const all = authors(await get(port, '/v1/feed?include_self=true'))
  assert.equal(all.length, 5)
  assert.equal(all.filter((a) => a === node.identity.id).length, 2)
  const alpha = dataOf(await get(port, '/v1/feed?include_self=true&content_type=alpha')) as {
    author: string
    content: { type: string }
  }[]
  assert.deepEqual(
    alpha.map((m) => [m.author, m.content.type]).sort(),
    [
      [node.identity.id, 'alpha'],
      [other.id, 'alpha'],
    ].sort(),
  )
  assert.equal((dataOf(await get(port, '/v1/feed?content_type=alpha')) as unknown[]).length, 1)
  // own feed by author
  assert.equal(
    (dataOf(await get(port, `/v1/feed/${seg(node.identity.id)}`)) as unknown[]).length,
    2,
  )
})

test('/v1/feed/:author takes a %2F-encoded public ID; anything else is INVALID_AUTHOR or another path', async (t) => {
  const { node, port } = await startTestNode(t)
  await node.engine.ingestMany(messagesOf(buildFeed(other, 2)))
  assert.ok(other.id.includes('/') && other.id.includes('+'))
  const res = await get(port, `/v1/feed/${seg(other.id)}`)
  assertJson(res, 200)
  assert.equal((dataOf(res) as unknown[]).length, 2)
  // '+' may also be sent literally in a path (only query strings treat it as a space)
  assert.equal((await get(port, `/v1/feed/${other.id.replaceAll('/', '%2F')}`)).status, 200)
  assert.equal((dataOf(await get(port, `/v1/feed/${seg(third.id)}`)) as unknown[]).length, 0)
  const invalid = 'author must be in @<base64>.ed25519 format'
  for (const bad of [
    'abc',
    other.id.slice(1),
    other.id.replace('.ed25519', '.ed25518'),
    other.id.replaceAll('+', '-'),
    `${other.id}x`,
  ]) {
    assertError(await get(port, `/v1/feed/${seg(bad)}`), 400, 'INVALID_AUTHOR', invalid)
  }
  // an unencoded '/' makes another path
  assertError(await get(port, `/v1/feed/${other.id}`), 404, 'NOT_FOUND', 'route not found')
})

test('insights: content type insight only, own included, newest first', async (t) => {
  const { node, port } = await startTestNode(t)
  const own = await postJson(
    port,
    '/v1/publish',
    '{"content":{"type":"insight","title":"T","observation":"O"}}',
  )
  assert.equal(own.status, 201)
  await postJson(port, '/v1/publish', '{"content":{"type":"note"}}')
  await node.engine.ingestMany(
    messagesOf(
      buildFeed(other, 2, {
        startMs: Date.UTC(2020, 0, 1),
        contentFn: (n) =>
          n === 1 ? { type: 'insight', title: 'old', observation: 'o' } : { type: 'note' },
      }),
    ),
  )
  const res = await get(port, '/v1/insights')
  assertJson(res, 200)
  const list = dataOf(res) as { author: string; content: { type: string } }[]
  assert.deepEqual(
    list.map((m) => m.author),
    [node.identity.id, other.id],
  )
  assert.ok(list.every((m) => m.content.type === 'insight'))
  assert.match(res.text, /,"metadata":\{"limit":50,"offset":0\}\}$/)
  assert.equal((dataOf(await get(port, '/v1/insights?offset=1')) as unknown[]).length, 1)
})

test('search: MISSING_QUERY, whitespace → [], default limit 20, content_type filter, order in metadata', async (t) => {
  const { node, port } = await startTestNode(t)
  await node.engine.ingestMany(
    messagesOf(
      buildFeed(other, 30, {
        contentFn: (n) => ({ type: n % 3 === 0 ? 'alpha' : 'beta', text: `zebra crossing ${n}` }),
      }),
    ),
  )
  const missing = "query parameter 'q' is required"
  assertError(await get(port, '/v1/insights/search'), 400, 'MISSING_QUERY', missing)
  assertError(await get(port, '/v1/insights/search?q='), 400, 'MISSING_QUERY', missing)
  assert.equal(
    (await get(port, '/v1/insights/search?q=%20%20')).text,
    '{"success":true,"data":[],"metadata":{"limit":20,"offset":0,"order":"rank"}}',
  )
  assert.equal(
    (await get(port, '/v1/insights/search?q=+')).status,
    200,
    "'+' is a space in a query string",
  )

  const found = await get(port, '/v1/insights/search?q=zebra')
  assertJson(found, 200)
  assert.equal((dataOf(found) as unknown[]).length, 20)
  assert.match(found.text, /,"metadata":\{"limit":20,"offset":0,"order":"rank"\}\}$/)
  assert.equal(
    (dataOf(await get(port, '/v1/insights/search?q=zebra&offset=20')) as unknown[]).length,
    10,
  )
  assert.match(
    (await get(port, '/v1/insights/search?q=zebra&limit=999')).text,
    /"metadata":\{"limit":200,"offset":0,"order":"rank"\}\}$/,
  )
  const alpha = dataOf(
    await get(port, '/v1/insights/search?q=zebra&content_type=alpha&limit=50'),
  ) as { content: { type: string } }[]
  assert.equal(alpha.length, 10)
  assert.ok(alpha.every((m) => m.content.type === 'alpha'))
  assert.equal((dataOf(await get(port, '/v1/insights/search?q=unmatched')) as unknown[]).length, 0)
})

test('message by hash: 404 message not found for unknown and malformed hashes', async (t) => {
  const { port } = await startTestNode(t)
  for (const hash of ['0'.repeat(64), 'abc', 'A'.repeat(64)]) {
    assertError(await get(port, `/v1/message/${hash}`), 404, 'NOT_FOUND', 'message not found')
  }
})

// ---- peers and follows ---------------------------------------------------------------------

test('peers: --peer listed first as cli; POST 201 idempotent; lan becomes manual; DELETE 204', async (t) => {
  const cli = '10.0.0.9:7655'
  const { node, port } = await startTestNode(t, { peers: [cli] })
  const list = async (): Promise<string> => {
    const res = await get(port, '/v1/peers')
    assertJson(res, 200)
    return res.text
  }
  assert.equal(
    await list(),
    `{"success":true,"data":[{"address":"${cli}","public_id":null,"source":"cli"}]}`,
  )

  const added =
    '{"success":true,"data":{"address":"192.168.1.20:7655","public_id":null,"source":"manual"}}'
  const first = await postJson(port, '/v1/peers', '{"address":"192.168.1.20:7655","other":1}')
  assert.equal(first.status, 201)
  assert.equal(first.text, added)
  const again = await postJson(port, '/v1/peers', '{"address":"192.168.1.20:7655"}')
  assert.equal(again.status, 201)
  assert.equal(again.text, added)

  node.state.addLanPeer('192.168.1.30:7655')
  assert.equal(
    await list(),
    `{"success":true,"data":[{"address":"${cli}","public_id":null,"source":"cli"},` +
      '{"address":"192.168.1.20:7655","public_id":null,"source":"manual"},' +
      '{"address":"192.168.1.30:7655","public_id":null,"source":"lan"}]}',
  )
  const promoted = await postJson(port, '/v1/peers', '{"address":"192.168.1.30:7655"}')
  assert.equal(
    promoted.text,
    '{"success":true,"data":{"address":"192.168.1.30:7655","public_id":null,"source":"manual"}}',
  )
  assert.match(await list(), /"192\.168\.1\.30:7655","public_id":null,"source":"manual"\}\]\}$/)

  // a --peer address added manually is still listed once, as cli; it cannot be removed
  assert.equal((await postJson(port, '/v1/peers', `{"address":"${cli}"}`)).status, 201)
  const del = await httpRequest(port, { method: 'DELETE', path: `/v1/peers/${seg(cli)}` })
  assert.equal(del.status, 204)
  assert.equal(del.text, '')
  const peers = dataOf(await get(port, '/v1/peers')) as { address: string; source: string }[]
  assert.deepEqual(
    peers.map((p) => `${p.address} ${p.source}`),
    [`${cli} cli`, '192.168.1.20:7655 manual', '192.168.1.30:7655 manual'],
  )

  for (const address of ['192.168.1.20:7655', '192.168.1.20:7655', 'never.added:1']) {
    const res = await httpRequest(port, { method: 'DELETE', path: `/v1/peers/${seg(address)}` })
    assert.equal(res.status, 204, address)
    assert.equal(res.text, '')
    assert.equal(res.headers['content-type'], undefined)
  }
  assert.equal((dataOf(await get(port, '/v1/peers')) as unknown[]).length, 2)
  const status = dataOf(await get(port, '/v1/status')) as { peer_count: number }
  assert.equal(status.peer_count, 2)
})

test('peer addresses are validated as in §7.4 (split at the last colon)', async (t) => {
  const { port } = await startTestNode(t)
  const invalid = 'address must be in host:port format'
  for (const address of ['[::1]:7655', 'host:0', 'host:65535', 'a:b:1', 'example.org:00080']) {
    const res = await postJson(port, '/v1/peers', JSON.stringify({ address }))
    assert.equal(res.status, 201, `${address}: ${res.text}`)
    assert.equal(
      (await httpRequest(port, { method: 'DELETE', path: `/v1/peers/${seg(address)}` })).status,
      204,
    )
  }
  for (const address of [
    ':7655',
    'host:70000',
    'host:65536',
    'nocolon',
    'host:',
    'host:-1',
    'host:7a',
    'host: 1',
    '',
    '[::1]',
  ]) {
    assertError(
      await postJson(port, '/v1/peers', JSON.stringify({ address })),
      400,
      'INVALID_ADDRESS',
      invalid,
    )
    if (address !== '') {
      assertError(
        await httpRequest(port, { method: 'DELETE', path: `/v1/peers/${seg(address)}` }),
        400,
        'INVALID_ADDRESS',
        invalid,
      )
    }
  }
  assertError(
    await postJson(port, '/v1/peers', '{}'),
    422,
    'INVALID_BODY',
    "missing field 'address'",
  )
  assertError(
    await postJson(port, '/v1/peers', '{"address":7655}'),
    422,
    'INVALID_BODY',
    "field 'address' must be a string",
  )
  assertError(await postJson(port, '/v1/peers', '["a:1"]'), 422, 'INVALID_BODY')
  assertError(await postJson(port, '/v1/peers', '{"address":'), 400, 'INVALID_JSON')
})

test('follows: 201 and 204, idempotent, sorted, INVALID_AUTHOR', async (t) => {
  const { port } = await startTestNode(t)
  const follow = (id: string): Promise<HttpResult> =>
    httpRequest(port, { method: 'POST', path: `/v1/follows/${seg(id)}` })
  const unfollow = (id: string): Promise<HttpResult> =>
    httpRequest(port, { method: 'DELETE', path: `/v1/follows/${seg(id)}` })
  for (let i = 0; i < 2; i++) {
    const res = await follow(other.id)
    assert.equal(res.status, 201)
    assert.equal(res.text, `{"success":true,"data":{"author":"${other.id}"}}`)
  }
  assert.equal((await follow(third.id)).status, 201)
  const sorted = [other.id, third.id].sort()
  assert.equal(
    (await get(port, '/v1/follows')).text,
    `{"success":true,"data":[${sorted.map((a) => `{"author":"${a}"}`).join(',')}]}`,
  )
  assert.equal((dataOf(await get(port, '/v1/status')) as { follow_count: number }).follow_count, 2)
  for (let i = 0; i < 2; i++) {
    const res = await unfollow(other.id)
    assert.equal(res.status, 204)
    assert.equal(res.text, '')
  }
  assert.equal(
    (await get(port, '/v1/follows')).text,
    `{"success":true,"data":[{"author":"${third.id}"}]}`,
  )
  const invalid = 'author must be in @<base64>.ed25519 format'
  for (const bad of ['bad', other.id.slice(0, -1), ` ${other.id}`]) {
    assertError(await follow(bad), 400, 'INVALID_AUTHOR', invalid)
    assertError(await unfollow(bad), 400, 'INVALID_AUTHOR', invalid)
  }
})

// ---- status and mesh -----------------------------------------------------------------------

test('status: keys in order and counts of messages, feeds, follows and peers', async (t) => {
  const { node, port } = await startTestNode(t, { peers: ['10.0.0.9:7655'], version: '1.2.3' })
  await postJson(port, '/v1/publish', '{"content":{"type":"note"}}')
  await postJson(port, '/v1/publish', '{"content":{"type":"note"}}')
  await node.engine.ingestMany(messagesOf(buildFeed(other, 3)))
  await httpRequest(port, { method: 'POST', path: `/v1/follows/${seg(third.id)}` })
  await postJson(port, '/v1/peers', '{"address":"10.0.0.10:7655"}')
  const res = await get(port, '/v1/status')
  const env = assertJson(res, 200)
  const data = env['data'] as Record<string, unknown>
  assert.deepEqual(Object.keys(data), [...STATUS_KEYS])
  const { uptime_secs: uptime, ...rest } = data
  assert.deepEqual(rest, {
    version: '1.2.3',
    identity: node.identity.id,
    port,
    gossip_port: 7655,
    peer_count: 2,
    message_count: 5,
    feed_count: 2,
    follow_count: 1,
  })
  assert.ok(Number.isInteger(uptime) && (uptime as number) >= 0)

  const identity = assertJson(await get(port, '/v1/identity'), 200)
  const id = identity['data'] as Record<string, unknown>
  assert.deepEqual(Object.keys(id), ['public_id', 'x25519_public'])
  assert.equal(id['public_id'], node.identity.id)
  assert.match(String(id['x25519_public']), /^[A-Za-z0-9+/]{43}=$/)
})

test('mesh: the local status and one entry per observed peer', async (t) => {
  const { node, port, dataDir } = await startTestNode(t)
  const empty = assertJson(await get(port, '/v1/mesh'), 200)
  const data = empty['data'] as { local: Record<string, unknown>; peers: unknown[] }
  assert.deepEqual(Object.keys(data), ['local', 'peers'])
  assert.deepEqual(data.peers, [])
  assert.equal(data.local['identity'], node.identity.id)
  assert.equal(Object.keys(data.local).length, 9)

  // Observations come from replication (later issues); write two for one peer straight to the db.
  const db = openDatabase(join(dataDir, 'egregore.db'))
  const seen = timestampFromMillis(Date.now() - 3000)
  db.prepare(
    `INSERT INTO peer_health (peer_id, last_seen_at, last_seen_by, last_seq, generation, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(other.id, seen, 'self', 7, 3, seen)
  db.prepare(
    `INSERT INTO peer_health (peer_id, last_seen_at, last_seen_by, last_seq, generation, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(other.id, timestampFromMillis(Date.now()), third.id, 8, 3, seen)
  db.close()
  const mesh = assertJson(await get(port, '/v1/mesh'), 200)
  const peers = (mesh['data'] as { peers: Record<string, unknown>[] }).peers
  assert.equal(peers.length, 1)
  const entry = peers[0]!
  assert.deepEqual(Object.keys(entry), [
    'peer_id',
    'last_seen_at',
    'last_seen_by',
    'observation_age_secs',
    'last_seq',
    'generation',
    'status',
  ])
  assert.deepEqual(
    { ...entry, observation_age_secs: 0 },
    {
      peer_id: other.id,
      last_seen_at: seen,
      last_seen_by: 'self',
      observation_age_secs: 0,
      last_seq: 7,
      generation: 3,
      status: 'recent',
    },
  )
  assert.ok((entry['observation_age_secs'] as number) >= 2)
})

// ---- Host, Origin, token -------------------------------------------------------------------

test('Host must be a loopback name: others are 403 FORBIDDEN_HOST on every route', async (t) => {
  const { port } = await startTestNode(t)
  for (const host of [
    `localhost:${port}`,
    `[::1]:${port}`,
    `127.0.0.1:${port}`,
    'localhost',
    '127.0.0.1',
    '[::1]',
    `LOCALHOST:${port}`,
  ]) {
    assert.equal((await get(port, '/v1/status', { host })).status, 200, host)
  }
  for (const host of [
    'evil.example:7654',
    'evil.example',
    '127.0.0.1.evil.example',
    'localhost.evil.example:1',
    '10.0.0.1:7654',
    `localhost:${port}x`,
  ]) {
    for (const [method, path] of [
      ['GET', '/v1/status'],
      ['POST', '/v1/publish'],
      ['GET', '/v1/nothing'],
      ['GET', '/v1/events'],
      ['POST', '/mcp'],
    ] as const) {
      const res = await httpRequest(port, {
        method,
        path,
        headers: { host, 'content-type': 'application/json' },
        body: '{}',
      })
      assertError(res, 403, 'FORBIDDEN_HOST', 'host not allowed')
    }
  }
})

test('Origin, when present, must be loopback: others are 403 FORBIDDEN_ORIGIN', async (t) => {
  const { port } = await startTestNode(t)
  for (const origin of [
    'http://localhost:3000',
    'http://127.0.0.1',
    'http://[::1]:8080',
    'https://localhost',
  ]) {
    assert.equal((await get(port, '/v1/status', { origin })).status, 200, origin)
  }
  for (const origin of [
    'http://evil.example',
    'null',
    'http://localhost.evil.example',
    'file://',
    'garbage',
  ]) {
    for (const path of ['/v1/status', '/v1/events', '/v1/nothing']) {
      assertError(
        await get(port, path, { origin }),
        403,
        'FORBIDDEN_ORIGIN',
        'cross-origin requests are not allowed',
      )
    }
    const publish = await postJson(port, '/v1/publish', '{"content":{"type":"note"}}', { origin })
    assertError(publish, 403, 'FORBIDDEN_ORIGIN')
  }
  assert.equal(
    (dataOf(await get(port, '/v1/status')) as { message_count: number }).message_count,
    0,
    'nothing was published',
  )
})

test('with an API token every route is 401 without it or with a wrong one, and works with it', async (t) => {
  const token = 's3cret-token'
  const { node, port } = await startTestNode(t, { apiToken: token })
  await node.engine.ingestMany(messagesOf(buildFeed(other, 1)))
  const hash = buildFeed(other, 1)[0]!.message.hash
  const routes: [string, string, string | undefined, number][] = [
    ['GET', '/v1/status', undefined, 200],
    ['GET', '/v1/identity', undefined, 200],
    ['POST', '/v1/publish', '{"content":{"type":"note"}}', 201],
    ['GET', '/v1/feed', undefined, 200],
    ['GET', `/v1/feed/${seg(other.id)}`, undefined, 200],
    ['GET', '/v1/insights', undefined, 200],
    ['GET', '/v1/insights/search?q=message', undefined, 200],
    ['GET', `/v1/message/${hash}`, undefined, 200],
    ['GET', '/v1/peers', undefined, 200],
    ['POST', '/v1/peers', '{"address":"10.0.0.1:7655"}', 201],
    ['DELETE', '/v1/peers/10.0.0.1%3A7655', undefined, 204],
    ['GET', '/v1/follows', undefined, 200],
    ['POST', `/v1/follows/${seg(other.id)}`, undefined, 201],
    ['DELETE', `/v1/follows/${seg(other.id)}`, undefined, 204],
    ['GET', '/v1/mesh', undefined, 200],
    ['GET', '/v1/nothing', undefined, 404],
    ['PUT', '/v1/status', undefined, 405],
    ['GET', '/mcp', undefined, 405],
  ]
  const unauthorized = 'missing or invalid bearer token'
  for (const [method, path, body, ok] of routes) {
    const req = (headers: Record<string, string>): Promise<HttpResult> =>
      httpRequest(port, {
        method,
        path,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body }),
      })
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: token },
      { authorization: `Basic ${token}` },
      { authorization: `Bearer ${token}x` },
    ]) {
      assertError(await req(headers), 401, 'UNAUTHORIZED', unauthorized)
    }
    const res = await req({ authorization: `Bearer ${token}` })
    assert.equal(res.status, ok, `${method} ${path}: ${res.text}`)
  }
  // the event stream too
  assertError(await get(port, '/v1/events'), 401, 'UNAUTHORIZED', unauthorized)
  const sse = await openSse(t, port, '/v1/events', { authorization: `Bearer ${token}` })
  assert.equal(sse.status, 200)
  sse.close()
  // and MCP
  assertError(
    await postJson(port, '/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping"}', {
      accept: 'application/json, text/event-stream',
    }),
    401,
    'UNAUTHORIZED',
  )
})

test('a request arriving while the node stops gets the error envelope', async (t) => {
  const { node, port } = await startTestNode(t)
  // A publish whose body is still arriving keeps the server from closing; a request pipelined
  // behind it on the same connection is routed after close() began.
  const socket = connect(port, '127.0.0.1')
  t.after(() => socket.destroy())
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (received += d))
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  const body = '{"content":{"type":"note"}}'
  socket.write(
    `POST /v1/publish HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  )
  await waitFor(() => received.includes('100 Continue'), {
    what: '100 Continue (the request was routed)',
  })
  const stopping = node.stop()
  // close() has begun once the listening socket refuses new connections
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const probe = connect(port, '127.0.0.1')
        probe.on('connect', () => {
          probe.destroy()
          resolve(false)
        })
        probe.on('error', () => resolve(true))
      }),
    { what: 'the listener to close' },
  )
  socket.write(`${body}GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  await stopping
  await waitFor(
    () => (received.match(/HTTP\/1\.1 [2-5]\d\d/g) ?? []).length >= 2 || socket.closed,
    { what: 'two responses' },
  )
  const statuses = received.match(/HTTP\/1\.1 ([2-5]\d\d)/g) ?? []
  assert.equal(statuses[0], 'HTTP/1.1 201', 'the in-flight publish completes')
  const last = received.slice(received.lastIndexOf('HTTP/1.1 '))
  const lastBody = last.slice(last.indexOf('\r\n\r\n') + 4)
  // §7.3: every error response uses the envelope; SERVICE_UNAVAILABLE is the code for shutdown.
  assert.equal(
    lastBody,
    '{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"the node is shutting down"}}',
  )
})
