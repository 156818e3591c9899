/**
 * MCP at `POST /mcp` (PROTOCOL.md §7.7) driven by the SDK's own client against a real node, plus
 * the HTTP edges (405, Host checks, content type, parse error) with raw requests.
 */
import { STATUS_KEYS } from '../helpers/http.js'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { request, type IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { createNode, type EgregoreNode } from '../../src/node/index.js'

const ACCEPT = 'application/json, text/event-stream'
const INSTRUCTIONS =
  'Egregore is a decentralized knowledge sharing network for LLMs. Use tools to publish insights, query feeds, manage peers and follows.'

async function startNode(t: TestContext): Promise<EgregoreNode> {
  const dir = mkdtempSync(join(tmpdir(), 'egregore-mcp-'))
  const node = await createNode({
    dataDir: dir,
    passphrase: false,
    port: 0,
    version: '0.1.0',
    verifyThreads: 1,
  })
  t.after(async () => {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  await node.start()
  return node
}

async function connect(t: TestContext, node: EgregoreNode): Promise<Client> {
  const client = new Client({ name: 'egregore-test', version: '1.0.0' })
  const url = new URL(`http://127.0.0.1:${node.httpPort()}/mcp`)
  await client.connect(new StreamableHTTPClientTransport(url))
  t.after(() => client.close())
  return client
}

interface ToolText {
  readonly text: string
  readonly isError: boolean
}

/** Call a tool; its single text item (warnings would be further items) and error flag. */
async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolText> {
  const result = await client.callTool({ name, arguments: args })
  const content = result.content as { type: string; text?: string }[]
  assert.equal(content.length, 1, JSON.stringify(content))
  assert.equal(content[0]?.type, 'text')
  return { text: content[0]?.text ?? '', isError: result.isError === true }
}

async function ok(client: Client, name: string, args?: Record<string, unknown>): Promise<string> {
  const r = await call(client, name, args)
  assert.equal(r.isError, false, r.text)
  return r.text
}

async function fails(client: Client, name: string, args: Record<string, unknown>, text: string) {
  assert.deepEqual(await call(client, name, args), { text, isError: true })
}

interface RawResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/** A raw HTTP request (node:http, so that Host can be set), MCP-style headers by default. */
function raw(
  port: number,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const headers = {
    host: `127.0.0.1:${port}`,
    'content-type': 'application/json',
    accept: ACCEPT,
    ...options.headers,
  }
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/mcp', method: options.method ?? 'POST', headers },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })

function envelopeError(r: RawResponse): { code: string; message: string } {
  const body = JSON.parse(r.text) as { success: boolean; error: { code: string; message: string } }
  assert.equal(body.success, false)
  return body.error
}

test('initialize reports serverInfo, the tools capability and the instructions', async (t) => {
  const client = await connect(t, await startNode(t))
  assert.deepEqual(client.getServerVersion(), { name: 'egregore', version: '0.1.0' })
  assert.equal(client.getInstructions(), INSTRUCTIONS)
  assert.ok(client.getServerCapabilities()?.tools)
})

test('tools/list has the twelve tools with object schemas and required only where listed', async (t) => {
  const client = await connect(t, await startNode(t))
  const { tools } = await client.listTools()
  const byName = new Map(tools.map((tool) => [tool.name, tool.inputSchema]))
  assert.deepEqual([...byName.keys()].sort(), [
    'egregore_add_peer',
    'egregore_follow',
    'egregore_follows',
    'egregore_get_message',
    'egregore_identity',
    'egregore_mesh',
    'egregore_peers',
    'egregore_publish',
    'egregore_query',
    'egregore_remove_peer',
    'egregore_status',
    'egregore_unfollow',
  ])
  const expected: Record<string, [properties: string[], required: string[] | undefined]> = {
    egregore_status: [[], undefined],
    egregore_identity: [[], undefined],
    egregore_publish: [['content'], ['content']],
    egregore_query: [['author', 'search', 'content_type', 'limit', 'offset'], undefined],
    egregore_peers: [[], undefined],
    egregore_add_peer: [['address'], ['address']],
    egregore_remove_peer: [['address'], ['address']],
    egregore_follows: [[], undefined],
    egregore_follow: [['author'], ['author']],
    egregore_unfollow: [['author'], ['author']],
    egregore_mesh: [[], undefined],
    egregore_get_message: [['hash'], ['hash']],
  }
  for (const [name, [properties, required]] of Object.entries(expected)) {
    const schema = byName.get(name)
    assert.equal(schema?.type, 'object', name)
    assert.deepEqual(Object.keys(schema.properties ?? {}), properties, name)
    assert.deepEqual(schema.required, required, name)
  }
  const publish = byName.get('egregore_publish')?.properties
  assert.deepEqual(publish?.['content'], {
    type: 'object',
    description: 'JSON content object to publish',
  })
  const query = byName.get('egregore_query')?.properties ?? {}
  for (const key of ['author', 'search', 'content_type']) {
    assert.equal((query[key] as { type: string }).type, 'string')
  }
  for (const key of ['limit', 'offset']) {
    assert.equal((query[key] as { type: string }).type, 'integer')
  }
  const address = byName.get('egregore_add_peer')?.properties?.['address']
  assert.deepEqual(address, { description: 'Peer address in host:port format', type: 'string' })
})

test('publish, query and get_message: pretty messages from the stored wire text', async (t) => {
  const node = await startNode(t)
  const client = await connect(t, node)
  const self = node.identity.id

  // Integers beyond 2^53 stay integers, as the JS client writes them: 2^53 + 2 exactly, 2^60 in
  // JSON.stringify's shortest digits (the client cannot write 1152921504606846976).
  const first = await ok(client, 'egregore_publish', {
    content: { type: 'note', text: 'first mcp note', n: 2 ** 53 + 2, m: 2 ** 60, f: 1.5 },
  })
  assert.match(first, /^\{\n {2}"author": /)
  assert.match(
    first,
    /\n {4}"f": 1\.5,\n {4}"m": 1152921504606847000,\n {4}"n": 9007199254740994,\n/,
  )
  const firstMessage = JSON.parse(first) as { hash: string; sequence: number; author: string }
  assert.equal(firstMessage.author, self)
  assert.equal(firstMessage.sequence, 1)
  assert.equal(await ok(client, 'egregore_get_message', { hash: firstMessage.hash }), first)

  const second = await ok(client, 'egregore_publish', {
    content: { type: 'other', text: 'second note' },
  })
  const secondHash = (JSON.parse(second) as { hash: string }).hash

  const hashes = async (args: Record<string, unknown>): Promise<string[]> => {
    const list = JSON.parse(await ok(client, 'egregore_query', args)) as { hash: string }[]
    return list.map((m) => m.hash)
  }
  // Without `search`: the feed including our own messages, newest first.
  assert.deepEqual(await hashes({}), [secondHash, firstMessage.hash])
  assert.deepEqual(await hashes({ author: self }), [secondHash, firstMessage.hash])
  assert.deepEqual(await hashes({ content_type: 'note' }), [firstMessage.hash])
  assert.deepEqual(await hashes({ limit: 1 }), [secondHash])
  assert.deepEqual(await hashes({ limit: 1, offset: 1 }), [firstMessage.hash])
  // With `search`: full-text search, filtered by content_type and author.
  assert.deepEqual(await hashes({ search: 'mcp' }), [firstMessage.hash])
  assert.deepEqual(await hashes({ search: 'note', content_type: 'other' }), [secondHash])
  assert.deepEqual(
    await hashes({ search: 'note', author: self, limit: 5 }).then((h) => h.length),
    2,
  )
  const stranger = `@${randomBytes(32).toString('base64')}.ed25519`
  assert.deepEqual(await hashes({ search: 'note', author: stranger }), [])
  assert.equal(await ok(client, 'egregore_query', { author: stranger }), '[]')

  const badAuthor = 'author must be in @<base64>.ed25519 format'
  await fails(client, 'egregore_query', { author: 'nobody' }, badAuthor)
  await fails(client, 'egregore_query', { author: 'nobody', search: 'note' }, badAuthor)
})

test('publish and get_message errors are tool errors with the reason', async (t) => {
  const client = await connect(t, await startNode(t))
  const missing = 'Missing required argument: content'
  await fails(client, 'egregore_publish', {}, missing)
  await fails(client, 'egregore_publish', { content: null }, missing)
  await fails(
    client,
    'egregore_publish',
    { content: 'text' },
    "content must be a JSON object with a non-empty string 'type' field",
  )
  await fails(
    client,
    'egregore_publish',
    { content: { type: 'insight', observation: 'x' } },
    "insight content requires field 'title'",
  )
  const big = await call(client, 'egregore_publish', {
    content: { type: 'note', text: 'x'.repeat(70000) },
  })
  assert.equal(big.isError, true)
  assert.match(big.text, /^feed integrity violation: content too large: \d+ bytes \(max 65536\)$/)

  await fails(client, 'egregore_get_message', {}, 'Missing required argument: hash')
  await fails(client, 'egregore_get_message', { hash: 'a'.repeat(64) }, 'message not found')
  await fails(client, 'egregore_get_message', { hash: 'not-a-hash' }, 'message not found')
  // Mistyped optional arguments are refused by the SDK's zod validation, as a tool error.
  const negative = await call(client, 'egregore_query', { limit: -1 })
  assert.equal(negative.isError, true)
  assert.match(negative.text, /Invalid arguments for tool egregore_query/)
})

test('a raw JSON-RPC publish keeps 64-bit integers and float spellings exactly', async (t) => {
  const node = await startNode(t)
  const client = await connect(t, node)
  // The SDK's JS client cannot express these (JSON.stringify has no bigint; 1.0 prints as 1), but
  // any client that writes JSON text can, and the node parses /mcp bodies losslessly (§1.4.1).
  const content = '{"type":"note","u64":18446744073709551615,"i64":-9223372036854775808,"f":1.0}'
  const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"egregore_publish","arguments":{"content":${content}}}}`
  const r = await raw(node.httpPort(), { body })
  assert.equal(r.status, 200)
  assert.match(r.headers['content-type'] ?? '', /^application\/json/)
  const response = JSON.parse(r.text) as {
    id: number
    result: { content: { text: string }[]; isError?: boolean }
  }
  assert.equal(response.id, 7)
  assert.equal(response.result.isError, undefined)
  const published = response.result.content[0]?.text ?? ''
  const hash = /"hash": "([0-9a-f]{64})"/.exec(published)?.[1] ?? ''

  const fetched = await ok(client, 'egregore_get_message', { hash })
  assert.equal(fetched, published)
  assert.match(fetched, /\n {4}"u64": 18446744073709551615\n/)
  assert.match(fetched, /\n {4}"i64": -9223372036854775808,\n/)
  assert.match(fetched, /\n {4}"f": 1\.0,\n/)
  // The REST API serves the same stored text.
  const rest = await fetch(`http://127.0.0.1:${node.httpPort()}/v1/message/${hash}`)
  assert.match(await rest.text(), /"u64":18446744073709551615/)

  // In a batch each call gets its own content, matched by JSON-RPC id (string or number).
  const publish = (id: string, n: string) =>
    `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"egregore_publish","arguments":{"content":{"type":"note","n":${n}}}}}`
  const batch = await raw(node.httpPort(), {
    body: `[${publish('"a"', '12345678901234567890')},${publish('9', '2.50')}]`,
  })
  assert.equal(batch.status, 200)
  const replies = JSON.parse(batch.text) as {
    id: string | number
    result: { content: { text: string }[] }
  }[]
  const textOf = (id: string | number) => replies.find((x) => x.id === id)?.result.content[0]?.text
  assert.match(textOf('a') ?? '', /"n": 12345678901234567890,\n/)
  assert.match(textOf(9) ?? '', /"n": 2\.5,\n/)
})

test('status, identity, peers, follows and mesh', async (t) => {
  const node = await startNode(t)
  const client = await connect(t, node)
  const self = node.identity.id

  assert.equal(await ok(client, 'egregore_identity'), `{\n  "public_id": "${self}"\n}`)
  const status = JSON.parse(await ok(client, 'egregore_status')) as Record<string, unknown>
  assert.deepEqual(Object.keys(status), [...STATUS_KEYS, 'sync'])
  assert.equal(status['identity'], self)
  assert.equal(status['port'], node.httpPort())
  assert.deepEqual(status['sync'], { peers: [], feeds_with_gaps: [] })

  assert.equal(await ok(client, 'egregore_peers'), '[]')
  const address = '127.0.0.1:7655'
  assert.equal(await ok(client, 'egregore_add_peer', { address }), `{"added":"${address}"}`)
  assert.deepEqual(JSON.parse(await ok(client, 'egregore_peers')), [
    { address, public_id: null, source: 'manual' },
  ])
  const synced = JSON.parse(await ok(client, 'egregore_status')) as { sync: { peers: unknown[] } }
  assert.deepEqual(synced.sync.peers, [
    { address, public_id: null, source: 'manual', last_connected: null, last_synced: null },
  ])
  assert.equal(await ok(client, 'egregore_remove_peer', { address }), `{"removed":"${address}"}`)
  assert.equal(await ok(client, 'egregore_peers'), '[]')
  const badAddress = 'address must be in host:port format'
  for (const tool of ['egregore_add_peer', 'egregore_remove_peer']) {
    await fails(client, tool, {}, 'Missing required argument: address')
    await fails(client, tool, { address: 'no-port' }, badAddress)
    await fails(client, tool, { address: 'host:70000' }, badAddress)
  }

  const author = `@${randomBytes(32).toString('base64')}.ed25519`
  assert.equal(await ok(client, 'egregore_follow', { author }), `{"followed":"${author}"}`)
  assert.equal(await ok(client, 'egregore_follows'), `[\n  "${author}"\n]`)
  assert.equal(await ok(client, 'egregore_unfollow', { author }), `{"unfollowed":"${author}"}`)
  assert.equal(await ok(client, 'egregore_follows'), '[]')
  const badAuthor = 'author must be in @<base64>.ed25519 format'
  for (const tool of ['egregore_follow', 'egregore_unfollow']) {
    await fails(client, tool, {}, 'Missing required argument: author')
    await fails(client, tool, { author: 'bob' }, badAuthor)
  }

  const mesh = JSON.parse(await ok(client, 'egregore_mesh')) as {
    local: { identity: string }
    peers: unknown[]
  }
  assert.equal(mesh.local.identity, self)
  assert.deepEqual(mesh.peers, [])
})

test('HTTP edges: 405, Host checks, content type, size, parse error and Accept', async (t) => {
  const node = await startNode(t)
  const port = node.httpPort()
  const url = `http://127.0.0.1:${port}/mcp`

  for (const method of ['GET', 'DELETE']) {
    const r = await fetch(url, { method, headers: { accept: ACCEPT } })
    assert.equal(r.status, 405, method)
    assert.equal(r.headers.get('allow'), 'POST')
    assert.deepEqual(await r.json(), {
      success: false,
      error: { code: 'METHOD_NOT_ALLOWED', message: 'method not allowed' },
    })
  }

  const foreign = await raw(port, { headers: { host: `evil.example:${port}` }, body: TOOLS_LIST })
  assert.equal(foreign.status, 403)
  assert.deepEqual(envelopeError(foreign), { code: 'FORBIDDEN_HOST', message: 'host not allowed' })
  const origin = await raw(port, { headers: { origin: 'https://evil.example' }, body: TOOLS_LIST })
  assert.equal(origin.status, 403)
  assert.equal(envelopeError(origin).code, 'FORBIDDEN_ORIGIN')
  // Loopback without the bound port passes §7.1's check but not the SDK's allowed hosts.
  const portless = await raw(port, { headers: { host: 'localhost' }, body: TOOLS_LIST })
  assert.equal(portless.status, 403)
  assert.deepEqual(JSON.parse(portless.text), {
    jsonrpc: '2.0',
    error: { code: -32000, message: 'Invalid Host header: localhost' },
    id: null,
  })
  for (const host of [`localhost:${port}`, `[::1]:${port}`]) {
    const allowed = await raw(port, { headers: { host }, body: TOOLS_LIST })
    assert.equal(allowed.status, 200, host)
  }

  const plain = await raw(port, { headers: { 'content-type': 'text/plain' }, body: TOOLS_LIST })
  assert.equal(plain.status, 415)
  assert.deepEqual(envelopeError(plain), {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'expected Content-Type: application/json',
  })
  const huge = await raw(port, { body: `"${'x'.repeat(1048576)}"` })
  assert.equal(huge.status, 413)
  assert.equal(envelopeError(huge).code, 'PAYLOAD_TOO_LARGE')

  const parseError = {
    jsonrpc: '2.0',
    error: { code: -32700, message: 'Parse error: Invalid JSON' },
    id: null,
  }
  for (const body of ['{"jsonrpc":', '']) {
    const malformed = await raw(port, { body })
    assert.equal(malformed.status, 400, JSON.stringify(body))
    assert.deepEqual(JSON.parse(malformed.text), parseError)
  }
  const notRpc = await raw(port, { body: '{"hello":"world"}' })
  assert.equal(notRpc.status, 400)
  assert.equal((JSON.parse(notRpc.text) as { error: { code: number } }).error.code, -32700)

  const noAccept = await raw(port, { headers: { accept: 'application/json' }, body: TOOLS_LIST })
  assert.equal(noAccept.status, 406)
  assert.equal((JSON.parse(noAccept.text) as { error: { code: number } }).error.code, -32000)

  // Stateless: no Mcp-Session-Id, and a notification is accepted with 202.
  const listed = await raw(port, { body: TOOLS_LIST })
  assert.equal(listed.status, 200)
  assert.equal(listed.headers['mcp-session-id'], undefined)
  const note = await raw(port, {
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  })
  assert.equal(note.status, 202)
})
