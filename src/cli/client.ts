/**
 * Client subcommands: talk to a running node's HTTP API (PROTOCOL.md §7.4) and print either a
 * human-readable view or, with `--json`, the response data (numbers preserved).
 */
import {
  parseJson,
  writeCanonical,
  writePretty,
  type JsonObject,
  type JsonValue,
} from '../codec/index.js'
import { EgregoreError } from '../errors.js'

export interface ClientOptions {
  /** Base URL of the node API, e.g. http://127.0.0.1:7654 */
  readonly api: string
  readonly token?: string
  readonly json: boolean
}

/** Call the API; returns the envelope's `data`, or throws with the envelope's error. */
export async function callApi(
  o: ClientOptions,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: string,
): Promise<{ data: JsonValue | undefined; metadata: JsonValue | undefined }> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`
  let res: Response
  try {
    res = await fetch(new URL(path, o.api), {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    })
  } catch (err) {
    throw new EgregoreError(
      'API_ERROR',
      `cannot reach the node at ${o.api} (is it running? see --api)`,
      { cause: err },
    )
  }
  if (res.status === 204) return { data: undefined, metadata: undefined }
  const text = await res.text()
  let envelope: JsonObject
  try {
    envelope = parseJson(text) as JsonObject
  } catch {
    throw new EgregoreError('API_ERROR', `unexpected response from ${o.api} (HTTP ${res.status})`)
  }
  if (envelope['success'] !== true) {
    const error = envelope['error'] as JsonObject | undefined
    const code = typeof error?.['code'] === 'string' ? error['code'] : `HTTP ${res.status}`
    const message = typeof error?.['message'] === 'string' ? error['message'] : ''
    throw new EgregoreError('API_ERROR', `${code}: ${message}`)
  }
  return { data: envelope['data'], metadata: envelope['metadata'] }
}

/** Print `data` as pretty JSON (for --json). */
export function printJson(data: JsonValue | undefined): void {
  console.log(data === undefined ? 'null' : writePretty(data))
}

/** One line per message: time, author, sequence, type and a short summary. */
export function printMessages(list: JsonValue | undefined): void {
  if (!Array.isArray(list)) return
  if (list.length === 0) console.log('(no messages)')
  for (const m of list as JsonObject[]) {
    const content = m['content']
    const type = isObj(content) && typeof content['type'] === 'string' ? content['type'] : 'unknown'
    const text = (v: JsonValue | undefined): string =>
      v === undefined ? '' : writeCanonical(v).replace(/^"|"$/g, '')
    const author = text(m['author']).slice(0, 12)
    console.log(
      `${text(m['timestamp'])}  ${author}…  #${text(m['sequence'])}  ${type}: ${summary(content)}`,
    )
  }
}

function summary(content: JsonValue | undefined): string {
  if (isObj(content)) {
    for (const key of ['title', 'text', 'question', 'answer', 'name', 'observation', 'reason']) {
      const v = content[key]
      if (typeof v === 'string') return clip(v)
    }
  }
  return clip(content === undefined ? '' : writePretty(content).replace(/\s+/g, ' '))
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

function isObj(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Print a flat object as aligned `key: value` lines. */
export function printFields(data: JsonValue | undefined): void {
  if (!isObj(data)) return printJson(data)
  const width = Math.max(...Object.keys(data).map((k) => k.length))
  for (const [k, v] of Object.entries(data)) {
    console.log(
      `${k.padEnd(width)}  ${typeof v === 'string' ? v : writePretty(v).replace(/\s+/g, ' ')}`,
    )
  }
}
