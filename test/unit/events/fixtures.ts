/**
 * Fixtures for the hook runner tests (PROTOCOL.md §7.8): hand-built message events, executable
 * scripts in a temp dir, a capturing logger, a polling wait, process liveness and an HTTP sink.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { MessageEvent } from '../../../src/feed/index.js'
import type { Logger } from '../../../src/log.js'

/** A message event with a small, distinct, newline-free wire text. */
export function event(n: number, contentType = 'note', pad = ''): MessageEvent {
  const wireText = `{"author":"@test","sequence":${n},"content":{"type":"${contentType}","pad":"${pad}"}}`
  return {
    id: n,
    author: '@test',
    sequence: n,
    hash: n.toString(16).padStart(64, '0'),
    contentType,
    wireText,
    chainValid: true,
    origin: null,
  }
}

/** A fresh temp dir removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'egregore-hooks-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Write an executable script (mode 755 unless given) and return its path. */
export function script(dir: string, name: string, body: string, mode = 0o755): string {
  const path = join(dir, name)
  writeFileSync(path, body)
  chmodSync(path, mode)
  return path
}

/** A hook that appends `<stdin>` to `out`, so the file shows each input's exact bytes and order. */
export function appendHook(dir: string, out: string): string {
  return script(
    dir,
    'append.sh',
    `#!/bin/sh\nprintf '<' >> '${out}'\ncat >> '${out}'\nprintf '>' >> '${out}'\n`,
  )
}

export function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return fallback
  }
}

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly obj: Record<string, unknown>
  readonly msg: string
}

/** A logger that keeps every entry, children included. */
export function capturingLogger(): { log: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at =
    (level: LogEntry['level']) =>
    (obj: object, msg = ''): void => {
      entries.push({ level, obj: obj as Record<string, unknown>, msg })
    }
  const log: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => log,
  }
  return { log, entries }
}

/** Poll `check` until it returns a value other than `undefined`/`false`, or fail at the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** True while `pid` exists and is not a zombie (PID 1 in a container may never reap orphans). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ESRCH') return false
    throw err
  }
  const stat = readOr(`/proc/${pid}/stat`)
  // Field 3 (after the parenthesised command name) is the state; Z is a zombie, X dead.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  return state !== 'Z' && state !== 'X'
}

export interface Received {
  readonly body: string
  readonly headers: IncomingHttpHeaders
}

export interface Sink {
  readonly url: string
  readonly port: number
  readonly received: Received[]
}

/**
 * An HTTP server on 127.0.0.1 that records each request, then lets `respond` answer it
 * (or leave it hanging). Closed, with its connections, when the test ends.
 */
export async function startSink(
  t: TestContext,
  respond: (index: number, res: ServerResponse, req: Received) => void,
  port = 0,
): Promise<Sink> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Uint8Array[] = []
    req.on('data', (c: Uint8Array) => chunks.push(c))
    req.on('end', () => {
      const r = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers }
      received.push(r)
      respond(received.length - 1, res, r)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const actual = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${actual}/hook`, port: actual, received }
}

/** Answer with `status` and an empty body. */
export function reply(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, headers).end()
}

/** A port with nothing listening (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
