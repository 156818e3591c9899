/**
 * Helpers for tests of the node's HTTP API over real sockets: a node on 127.0.0.1 port 0 with a
 * temp data dir, a raw request helper (any Host, Origin or body), envelope checks (PROTOCOL.md
 * §7.2), a small server-sent-events client (§7.6) and `waitFor` with a deadline.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { createNode, type EgregoreNode, type NodeConfig } from '../../src/node/index.js'

/** Poll `fn` until it returns a value other than `undefined`/`false`, or fail after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000)
  for (;;) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${options.timeoutMs ?? 5000} ms waiting for ${options.what ?? 'a condition'}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export interface TestNode {
  readonly node: EgregoreNode
  readonly port: number
  readonly dataDir: string
}

/** A started node on 127.0.0.1 port 0 with a fresh data dir; stopped and removed after the test. */
export async function startTestNode(
  t: TestContext,
  config: Partial<NodeConfig> = {},
): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'egregore-api-'))
  let node: EgregoreNode
  try {
    node = await createNode({
      passphrase: false,
      port: 0,
      version: '0.0.0-test',
      verifyThreads: 1,
      ...config,
      dataDir,
    })
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  t.after(async () => {
    await node.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })
  await node.start()
  return { node, port: node.httpPort(), dataDir }
}

export interface HttpResult {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** The body as UTF-8 text, byte for byte. */
  readonly text: string
}

export interface RequestOptions {
  readonly method?: string
  readonly path: string
  /** Extra headers; `host` replaces the default `127.0.0.1:<port>`. */
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer
  readonly timeoutMs?: number
}

/**
 * One request on a fresh connection (no keep-alive reuse between tests). A JSON body gets no
 * content type unless given in `headers`. Resolves with status, headers and the full body text.
 */
export function httpRequest(port: number, options: RequestOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 5000
    let settled = false
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        // An explicit length: node sends a GET body without one, which HTTP cannot frame.
        headers: {
          ...(options.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(options.body)) }),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          settled = true
          clearTimeout(timer)
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          })
        })
        res.on('error', (err) => {
          if (!settled) reject(err)
        })
      },
    )
    const timer = setTimeout(() => {
      req.destroy(
        new Error(
          `${options.method ?? 'GET'} ${options.path}: no complete response within ${timeoutMs} ms`,
        ),
      )
    }, timeoutMs)
    // A server may answer (413) and close before it has read the whole body: a write error after
    // the response has started is not a failure of the request.
    req.on('error', (err) => {
      if (settled) return
      clearTimeout(timer)
      reject(err)
    })
    req.end(options.body)
  })
}

/** `httpRequest` with a JSON content type and body text. */
export function postJson(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return httpRequest(port, {
    method: 'POST',
    path,
    body,
    headers: { 'content-type': 'application/json', ...headers },
  })
}

/** A path segment holding a public ID (`/` → `%2F`, `+` → `%2B`, PROTOCOL.md §7.1). */
export function seg(value: string): string {
  return encodeURIComponent(value)
}

const ENVELOPE_KEYS = ['success', 'data', 'error', 'metadata']

/**
 * Parse an envelope and check its shape (§7.2): keys only from success, data, error, metadata,
 * in that order, none of them `null`; a success has `data` and no `error`; an error has exactly
 * `{code, message}` strings and neither `data` nor `metadata`.
 */
export function parseEnvelope(text: string): Record<string, unknown> {
  const body = JSON.parse(text) as unknown
  assert.ok(
    typeof body === 'object' && body !== null && !Array.isArray(body),
    `envelope is not an object: ${text}`,
  )
  const env = body as Record<string, unknown>
  const keys = Object.keys(env)
  const expected = ENVELOPE_KEYS.filter((k) => keys.includes(k))
  assert.deepEqual(keys, expected, `envelope keys out of order or unknown: ${text.slice(0, 200)}`)
  for (const k of keys) assert.notEqual(env[k], null, `envelope key '${k}' is null`)
  assert.equal(typeof env['success'], 'boolean')
  if (env['success'] === true) {
    assert.ok('data' in env, 'a success envelope has data')
    assert.ok(!('error' in env), 'a success envelope has no error')
  } else {
    assert.deepEqual(keys, ['success', 'error'], 'an error envelope has only success and error')
    const error = env['error'] as Record<string, unknown>
    assert.deepEqual(Object.keys(error), ['code', 'message'])
    assert.equal(typeof error['code'], 'string')
    assert.equal(typeof error['message'], 'string')
  }
  return env
}

/** Assert a JSON response: status, JSON content type, a valid envelope; returns the envelope. */
export function assertJson(res: HttpResult, status: number): Record<string, unknown> {
  assert.equal(
    res.status,
    status,
    `expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 300)}`,
  )
  assert.match(String(res.headers['content-type']), /^application\/json(;|$)/)
  return parseEnvelope(res.text)
}

/** Assert an error envelope with this status and code (and message, when given). */
export function assertError(
  res: HttpResult,
  status: number,
  code: string,
  message?: string | RegExp,
): void {
  const env = assertJson(res, status)
  const error = env['error'] as { code: string; message: string }
  assert.equal(error.code, code, `expected ${code}: ${res.text}`)
  if (typeof message === 'string') assert.equal(error.message, message)
  else if (message !== undefined) assert.match(error.message, message)
}

/** The raw text of `data` in a success envelope `{"success":true,"data":<data>[,"metadata":…]}`. */
export function rawData(text: string): string {
  const prefix = '{"success":true,"data":'
  assert.ok(text.startsWith(prefix), `not a success envelope: ${text.slice(0, 100)}`)
  // metadata is small and plain (integers, strings): it re-serializes to the same text.
  const metadata = (JSON.parse(text) as { metadata?: unknown }).metadata
  const suffix = metadata === undefined ? '}' : `,"metadata":${JSON.stringify(metadata)}}`
  assert.ok(text.endsWith(suffix), `unexpected envelope tail: ${text.slice(-100)}`)
  return text.slice(prefix.length, text.length - suffix.length)
}

/** One server-sent event. */
export interface SseEvent {
  readonly id: string | undefined
  readonly data: string
}

/** Where teardown is registered: a `TestContext`, or anything with the same `after`. */
export interface Teardown {
  after(fn: () => unknown): void
}

export interface SseClient {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly res: IncomingMessage
  /** Events received so far, in order. */
  readonly events: SseEvent[]
  /** Named events (notices such as `lagged`), in arrival order. */
  readonly named: { event: string; data: string }[]
  /** Comment lines received so far (the initial `:` and keep-alives). */
  comments(): number
  /** Everything received, verbatim. */
  raw(): string
  /** True once the server ended the stream. */
  ended(): boolean
  /** The body of a non-SSE answer (after it has ended). */
  body(): Promise<string>
  /** Wait until at least `n` events have arrived; returns the first `n`. */
  waitForEvents(n: number, timeoutMs?: number): Promise<SseEvent[]>
  waitForComments(n: number, timeoutMs?: number): Promise<void>
  waitForEnd(timeoutMs?: number): Promise<void>
  close(): void
}

/**
 * Open `GET path` as an event stream; resolves once the response headers arrived. The parser
 * follows the SSE rules (`field:value`, one optional space after the colon, comment lines start
 * with `:`, a blank line dispatches). The connection is destroyed when the test ends.
 */
export function openSse(
  t: Teardown,
  port: number,
  path: string,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = 5000,
): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'GET',
      path,
      headers: { accept: 'text/event-stream', ...headers },
      agent: false,
    })
    const timer = setTimeout(
      () => req.destroy(new Error(`GET ${path}: no response headers within ${timeoutMs} ms`)),
      timeoutMs,
    )
    t.after(() => req.destroy())
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.on('response', (res) => {
      clearTimeout(timer)
      req.removeAllListeners('error')
      req.on('error', () => undefined) // a reset after the test is done with the stream
      const events: SseEvent[] = []
      const named: { event: string; data: string }[] = []
      let comments = 0
      let raw = ''
      let pending = ''
      let id: string | undefined
      let name: string | undefined
      let data: string[] = []
      let ended = false
      const bodyText = new Promise<string>((done) => res.on('end', () => done(raw)))
      res.on('end', () => (ended = true))
      res.on('close', () => (ended = true))
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        raw += chunk
        pending += chunk
        const lines = pending.split(/\r\n|\r|\n/)
        pending = lines.pop() ?? ''
        for (const line of lines) {
          if (line === '') {
            // Named events (e.g. `lagged`) are notices, kept apart from message events.
            if (data.length > 0 && name !== undefined)
              named.push({ event: name, data: data.join('\n') })
            else if (data.length > 0) events.push({ id, data: data.join('\n') })
            data = []
            id = undefined
            name = undefined
          } else if (line.startsWith(':')) {
            comments++
          } else {
            const colon = line.indexOf(':')
            const field = colon < 0 ? line : line.slice(0, colon)
            let value = colon < 0 ? '' : line.slice(colon + 1)
            if (value.startsWith(' ')) value = value.slice(1)
            if (field === 'data') data.push(value)
            else if (field === 'id') id = value
            else if (field === 'event') name = value
          }
        }
      })
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        res,
        events,
        named,
        comments: () => comments,
        raw: () => raw,
        ended: () => ended,
        body: () => bodyText,
        async waitForEvents(n, ms = 5000) {
          await waitFor(() => events.length >= n, {
            timeoutMs: ms,
            what: `${n} events on ${path} (have ${events.length})`,
          })
          return events.slice(0, n)
        },
        async waitForComments(n, ms = 5000) {
          await waitFor(() => comments >= n, { timeoutMs: ms, what: `${n} comments on ${path}` })
        },
        async waitForEnd(ms = 5000) {
          await waitFor(() => ended, { timeoutMs: ms, what: `the end of ${path}` })
        },
        close: () => req.destroy(),
      }
      resolve(client)
    })
    req.end()
  })
}

/** Event ids as numbers (fails on an event without a numeric id). */
export function eventIds(events: readonly SseEvent[]): number[] {
  return events.map((e) => {
    assert.ok(
      e.id !== undefined && /^\d+$/.test(e.id),
      `event without a numeric id: ${JSON.stringify(e)}`,
    )
    return Number(e.id)
  })
}

/** The keys of the status object, in the order PROTOCOL.md §7.4 fixes. */
export const STATUS_KEYS = [
  'version',
  'identity',
  'port',
  'gossip_port',
  'peer_count',
  'message_count',
  'feed_count',
  'follow_count',
  'uptime_secs',
] as const
