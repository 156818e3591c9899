/**
 * The twelve MCP tools of PROTOCOL.md §7.7 over the NodeService: input schemas, result texts
 * (pretty messages printed from their stored wire text, §1.9) and tool errors.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import * as z from 'zod'
import {
  DEFAULT_FEED_LIMIT,
  DEFAULT_SEARCH_LIMIT,
  MAX_FEED_LIMIT,
  fromPlainJson,
  parseJson,
  writePretty,
  type JsonValue,
} from '../codec/index.js'
import { isEgregoreError } from '../errors.js'
import type { StoredMessage } from '../feed/index.js'
import { ApiError } from '../http/index.js'
import type { Logger } from '../log.js'
import type { NodeService } from './service.js'

/** The `instructions` of the initialize result (§7.7). */
export const MCP_INSTRUCTIONS =
  'Egregore is a decentralized knowledge sharing network for LLMs. Use tools to publish insights, query feeds, manage peers and follows.'

export interface McpToolDeps {
  readonly service: NodeService
  readonly log: Logger
  /** The lossless `content` of the publish call with this JSON-RPC id, if the body held it. */
  readonly publishContent: (requestId: string | number) => JsonValue | undefined
}

/**
 * A tool's input schema. `required` is advertised through the schema's metadata while the fields
 * stay optional for the SDK's validation: a missing argument then reaches the handler, which
 * answers §7.7's `Missing required argument: X` instead of the SDK's generic validation text.
 */
function input<S extends z.ZodRawShape>(shape: S, required: readonly (keyof S & string)[] = []) {
  const schema = z.object(shape)
  return required.length === 0 ? schema : schema.meta({ required: [...required] })
}
const text = (description: string) => z.string().optional().describe(description)
// Limits above 200 are clamped, not refused (§7.5); negatives would mean "no limit" to SQLite.
const count = (description: string) => z.int().min(0).optional().describe(description)

const PUBLISH_INPUT = input(
  {
    // Any JSON value gets through, so non-objects get publish's own INVALID_CONTENT text (§5.5).
    content: z
      .unknown()
      .optional()
      .meta({ type: 'object', description: 'JSON content object to publish' }),
  },
  ['content'],
)
const QUERY_INPUT = input({
  author: text('Filter by author public ID (@<base64>.ed25519)'),
  search: text('Full-text search query'),
  content_type: text('Filter by content type (e.g. "insight")'),
  limit: count('Maximum number of results (default 50, max 200)'),
  offset: count('Number of results to skip (default 0)'),
})
const ADD_PEER_INPUT = input({ address: text('Peer address in host:port format') }, ['address'])
const REMOVE_PEER_INPUT = input({ address: text('Peer address to remove (host:port)') }, [
  'address',
])
const FOLLOW_INPUT = input({ author: text('Public ID of the author to follow') }, ['author'])
const UNFOLLOW_INPUT = input({ author: text('Public ID of the author to unfollow') }, ['author'])
const GET_MESSAGE_INPUT = input({ hash: text('Hex SHA-256 hash of the message') }, ['hash'])

/** A fresh MCP server with every tool registered (stateless mode: one per HTTP request). */
export function createMcpServer(deps: McpToolDeps, version: string): McpServer {
  const server = new McpServer(
    { name: 'egregore', version },
    { capabilities: { tools: {} }, instructions: MCP_INSTRUCTIONS },
  )
  registerFeedTools(server, deps)
  registerPeerTools(server, deps)
  registerFollowTools(server, deps)
  return server
}

function registerFeedTools(server: McpServer, deps: McpToolDeps): void {
  const { service, log } = deps
  server.registerTool(
    'egregore_status',
    {
      description:
        'Get daemon status including version, identity, and feed/message/peer/follow counts, plus a sync view (per-peer last sync, feeds with gaps)',
    },
    () => run(log, () => [pretty({ ...service.status(), sync: service.syncView() })]),
  )
  server.registerTool(
    'egregore_identity',
    { description: "Get the local daemon's public identity" },
    () => run(log, () => [pretty({ public_id: service.identity().public_id })]),
  )
  server.registerTool(
    'egregore_publish',
    { description: 'Publish content to the local Egregore feed', inputSchema: PUBLISH_INPUT },
    ({ content }, extra) =>
      run(log, async () => {
        const plain = present(content, 'content')
        const result = await service.publish(
          deps.publishContent(extra.requestId) ?? fromPlainJson(plain),
        )
        // Interop warnings (§1.4.4) follow the message as extra text items.
        return [prettyMessage(result.wireText), ...result.warnings.map((w) => `warning: ${w}`)]
      }),
  )
  server.registerTool(
    'egregore_query',
    {
      description: 'Query feed messages by author, search text, or content type',
      inputSchema: QUERY_INPUT,
    },
    (args) => run(log, () => [prettyMessages(query(service, args))]),
  )
  server.registerTool(
    'egregore_get_message',
    { description: 'Get one message by its hash', inputSchema: GET_MESSAGE_INPUT },
    ({ hash }) => run(log, () => [prettyMessage(service.message(present(hash, 'hash')).wireText)]),
  )
}

type QueryArgs = z.output<typeof QUERY_INPUT>

/** Search when `search` is non-empty (default limit 20), else the feed with our own messages. */
function query(service: NodeService, args: QueryArgs): StoredMessage[] {
  const { author, search, content_type: contentType } = args
  const filter = contentType === undefined ? {} : { contentType }
  const offset = args.offset ?? 0
  if (search !== undefined && search !== '') {
    const limit = Math.min(args.limit ?? DEFAULT_SEARCH_LIMIT, MAX_FEED_LIMIT)
    const byAuthor = author === undefined ? {} : { author }
    return service.search(search, { limit, offset, ...filter, ...byAuthor }).messages
  }
  const page = { limit: Math.min(args.limit ?? DEFAULT_FEED_LIMIT, MAX_FEED_LIMIT), offset }
  return author === undefined
    ? service.feed({ ...page, ...filter, includeSelf: true })
    : service.feedByAuthor(author, { ...page, ...filter })
}

function registerPeerTools(server: McpServer, deps: McpToolDeps): void {
  const { service, log } = deps
  server.registerTool(
    'egregore_peers',
    { description: 'List configured gossip peers from all sources' },
    () => run(log, () => [pretty(service.peers())]),
  )
  server.registerTool(
    'egregore_add_peer',
    { description: 'Add a gossip peer by address', inputSchema: ADD_PEER_INPUT },
    ({ address }) =>
      run(log, () => {
        const added = service.addPeer(present(address, 'address')).address
        return [JSON.stringify({ added })]
      }),
  )
  server.registerTool(
    'egregore_remove_peer',
    { description: 'Remove a gossip peer by address', inputSchema: REMOVE_PEER_INPUT },
    ({ address }) =>
      run(log, () => {
        const removed = present(address, 'address')
        service.removePeer(removed)
        return [JSON.stringify({ removed })]
      }),
  )
  server.registerTool(
    'egregore_mesh',
    {
      description:
        'Get mesh-wide peer health status showing all known peers, their last-seen times, and health status (recent/stale/suspected)',
    },
    () => run(log, () => [pretty(service.mesh())]),
  )
}

function registerFollowTools(server: McpServer, deps: McpToolDeps): void {
  const { service, log } = deps
  server.registerTool('egregore_follows', { description: 'List all followed authors' }, () =>
    run(log, () => [pretty(service.follows())]),
  )
  server.registerTool(
    'egregore_follow',
    {
      description: "Subscribe to an author's feed for replication",
      inputSchema: FOLLOW_INPUT,
    },
    ({ author }) =>
      run(log, () => [JSON.stringify({ followed: service.follow(present(author, 'author')) })]),
  )
  server.registerTool(
    'egregore_unfollow',
    { description: "Unsubscribe from an author's feed", inputSchema: UNFOLLOW_INPUT },
    ({ author }) =>
      run(log, () => [JSON.stringify({ unfollowed: service.unfollow(present(author, 'author')) })]),
  )
}

/** A required argument; absent or `null` is §7.7's "missing". */
function present<T>(value: T | null | undefined, name: string): T {
  if (value === undefined || value === null) {
    throw new ApiError('INVALID_BODY', `Missing required argument: ${name}`)
  }
  return value
}

/** Run a tool body: its texts, or `isError` with the reason. */
async function run(log: Logger, body: () => string[] | Promise<string[]>): Promise<CallToolResult> {
  try {
    const texts = await body()
    return { content: texts.map((t) => ({ type: 'text', text: t })) }
  } catch (err) {
    return { content: [{ type: 'text', text: errorText(err, log) }], isError: true }
  }
}

function errorText(err: unknown, log: Logger): string {
  if (err instanceof ApiError) return err.message
  if (isEgregoreError(err)) return err.code === 'CLOSED' ? 'the node is shutting down' : err.message
  // A bug or an I/O failure: still say what happened (§7.7: never a bare "internal error").
  log.error({ err }, 'MCP tool failed')
  return `internal error: ${err instanceof Error ? err.message : String(err)}`
}

/** Pretty text of a small plain value (status, peers, mesh: safe integers and strings only). */
function pretty(value: unknown): string {
  return writePretty(fromPlainJson(value))
}

/** Pretty text of a stored message, from its wire text so numbers keep their spelling (§1.9). */
function prettyMessage(wireText: string): string {
  return writePretty(parseJson(wireText))
}

function prettyMessages(list: readonly StoredMessage[]): string {
  return writePretty(list.map((m) => parseJson(m.wireText)))
}
