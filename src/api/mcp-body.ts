/**
 * The body of `POST /mcp` (PROTOCOL.md §7.7, §7.1): parsed once with the lossless parser of
 * §1.4.1; the SDK gets the plain value `JSON.parse` would give, `egregore_publish` the exact content.
 */
import { parseJson, type JsonObject, type JsonValue } from '../codec/index.js'

/** The JSON-RPC error the SDK's transport answers for a body that is not JSON (HTTP 400). */
export const MCP_PARSE_ERROR = JSON.stringify({
  jsonrpc: '2.0',
  error: { code: -32700, message: 'Parse error: Invalid JSON' },
  id: null,
})

export interface McpBody {
  /** The body as `JSON.parse` would return it, for the SDK's transport. */
  readonly plain: unknown
  /**
   * The lossless `arguments.content` of the `egregore_publish` call with this JSON-RPC id, so
   * 64-bit integers and float spellings survive (§1.9). `undefined` when there is none or the id
   * is ambiguous (repeated in a batch).
   */
  readonly publishContent: (requestId: string | number) => JsonValue | undefined
}

/** Parse the raw body text; `null` when it is not JSON. */
export function parseMcpBody(text: string): McpBody | null {
  let value: JsonValue
  try {
    value = parseJson(text)
  } catch {
    return null // answered with MCP_PARSE_ERROR, as the SDK does; the detail is of no use to a client
  }
  const contents = new Map<string, JsonValue>()
  const ambiguous = new Set<string>()
  for (const message of Array.isArray(value) ? value : [value]) {
    const call = publishCall(message)
    if (call === undefined) continue
    if (contents.has(call.key)) ambiguous.add(call.key)
    contents.set(call.key, call.content)
  }
  return {
    plain: toPlain(value),
    publishContent: (requestId) => {
      const key = idKey(requestId)
      return key === undefined || ambiguous.has(key) ? undefined : contents.get(key)
    },
  }
}

function publishCall(message: JsonValue): { key: string; content: JsonValue } | undefined {
  if (!isObject(message) || message['method'] !== 'tools/call') return undefined
  const params = message['params']
  if (!isObject(params) || params['name'] !== 'egregore_publish') return undefined
  const args = params['arguments']
  const content = isObject(args) ? args['content'] : undefined
  const key = idKey(message['id'])
  return content === undefined || key === undefined ? undefined : { key, content }
}

/** A JSON-RPC id as a map key: the SDK's number `7` and the lossless `7n` are the same id. */
function idKey(id: JsonValue | undefined): string | undefined {
  if (typeof id === 'string') return `s${id}`
  if (typeof id === 'number' || typeof id === 'bigint') return `n${String(id)}`
  return undefined
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** What `JSON.parse` gives for the same text: integers become (possibly rounded) numbers. */
function toPlain(value: JsonValue): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(toPlain)
  // fromEntries defines own properties, so a `__proto__` key stays data, as with JSON.parse.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]))
}
