/**
 * MCP endpoint `POST /mcp` (PROTOCOL.md §7.7): the SDK's Streamable HTTP transport, stateless with
 * JSON responses and DNS-rebinding protection, one server and transport per request.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { FastifyInstance } from 'fastify'
import { silentLogger, type Logger } from '../log.js'
import { MCP_PARSE_ERROR, parseMcpBody } from './mcp-body.js'
import { createMcpServer } from './mcp-tools.js'
import type { NodeService } from './service.js'

export interface McpOptions {
  /** Implementation version for `serverInfo`. */
  readonly version: string
  /** The bound HTTP port (known only after listen): the SDK's allowed Host values carry it. */
  readonly port: () => number
  /** Where failures of the SDK or of a tool are logged (default: nowhere). */
  readonly log?: Logger
}

const INTERNAL_ERROR = JSON.stringify({
  jsonrpc: '2.0',
  error: { code: -32603, message: 'Internal server error' },
  id: null,
})

/** The Host values the SDK accepts (§7.7): loopback names with the bound port. */
function mcpAllowedHosts(port: number): string[] {
  const names = ['127.0.0.1', 'localhost', '[::1]']
  // A client leaves the default port out of Host (RFC 9110 §7.2).
  return [...names.map((n) => `${n}:${port}`), ...(port === 80 ? names : [])]
}

/**
 * Register `POST /mcp`. Host, Origin, token, body size and content type are checked before this
 * handler runs (REST envelope); from here on every answer is the SDK's JSON-RPC. `GET` and
 * `DELETE /mcp` get the server's 405 envelope with `Allow: POST`.
 */
export function registerMcp(app: FastifyInstance, service: NodeService, options: McpOptions): void {
  const log = options.log ?? silentLogger
  app.post('/mcp', { config: { jsonBody: true } }, async (request, reply) => {
    const body = parseMcpBody(typeof request.body === 'string' ? request.body : '')
    if (body === null) return reply.code(400).type('application/json').send(MCP_PARSE_ERROR)

    // Stateless: a server per request, as the SDK requires (a shared one would mix up request
    // ids of concurrent clients). No sessionIdGenerator means no Mcp-Session-Id.
    const server = createMcpServer(
      { service, log, publishContent: body.publishContent },
      options.version,
    )
    const transport = new StreamableHTTPServerTransport({
      enableJsonResponse: true,
      enableDnsRebindingProtection: true,
      allowedHosts: mcpAllowedHosts(options.port()),
    })
    // The SDK's own refusals (Host, Accept, invalid JSON-RPC) are answered to the client; keep a trace.
    server.server.onerror = (err) => log.debug({ err }, 'MCP transport error')
    reply.hijack()
    try {
      await server.connect(transport)
      // JSON mode: this resolves once the response has been written.
      await transport.handleRequest(request.raw, reply.raw, body.plain)
    } catch (err) {
      log.error({ err }, 'MCP request failed')
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(INTERNAL_ERROR)
      }
    } finally {
      await server.close()
    }
  })
}
