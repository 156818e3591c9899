/** The node's REST routes (PROTOCOL.md §7.4, §7.5): thin adapters from HTTP to the NodeService. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  DEFAULT_FEED_LIMIT,
  DEFAULT_SEARCH_LIMIT,
  MAX_FEED_LIMIT,
  parseJson,
  type JsonObject,
} from '../codec/index.js'
import { isEgregoreError } from '../errors.js'
import type { StoredMessage } from '../feed/index.js'
import {
  ApiError,
  jsonArray,
  okEnvelope,
  queryBool,
  queryInt,
  queryString,
  sendJson,
  type RawQuery,
} from '../http/index.js'
import type { NodeService } from './service.js'

/** Parse a JSON request body losslessly (§7.1); it must be an object. */
export function parseObjectBody(request: FastifyRequest): JsonObject {
  const text = typeof request.body === 'string' ? request.body : ''
  let value
  try {
    value = parseJson(text)
  } catch (err) {
    const detail = isEgregoreError(err) ? err.message.replace(/^invalid JSON: /, '') : 'unreadable'
    throw new ApiError('INVALID_JSON', `invalid JSON body: ${text === '' ? 'empty body' : detail}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('INVALID_BODY', 'request body must be a JSON object')
  }
  return value
}

interface Page {
  limit: number
  offset: number
}

function page(q: RawQuery, defaultLimit: number): Page {
  const limit = Math.min(queryInt(q, 'limit') ?? defaultLimit, MAX_FEED_LIMIT)
  return { limit, offset: queryInt(q, 'offset') ?? 0 }
}

function messages(list: readonly StoredMessage[]): string {
  return jsonArray(list.map((m) => m.wireText))
}

type Params = Record<string, string | undefined>

/** Register every REST route of §7.4 (SSE and MCP are registered by their own modules). */
export function registerRestRoutes(app: FastifyInstance, service: NodeService): void {
  const q = (r: FastifyRequest): RawQuery => r.query as RawQuery
  const param = (r: FastifyRequest, name: string): string | undefined => (r.params as Params)[name]

  app.get('/v1/status', (_r, reply) =>
    sendJson(reply, 200, okEnvelope(JSON.stringify(service.status()))),
  )
  app.get('/v1/identity', (_r, reply) =>
    sendJson(reply, 200, okEnvelope(JSON.stringify(service.identity()))),
  )

  app.post('/v1/publish', { config: { jsonBody: true } }, async (request, reply) => {
    const body = parseObjectBody(request)
    if (!('content' in body)) throw new ApiError('INVALID_BODY', "missing field 'content'")
    const result = await service.publish(body['content'])
    const meta = result.warnings.length > 0 ? { warnings: result.warnings } : undefined
    return sendJson(reply, 201, okEnvelope(result.wireText, meta))
  })

  app.get('/v1/feed', (request, reply) => {
    const p = page(q(request), DEFAULT_FEED_LIMIT)
    const contentType = queryString(q(request), 'content_type')
    const includeSelf = queryBool(q(request), 'include_self') ?? false
    const list = service.feed({
      ...p,
      includeSelf,
      ...(contentType === undefined ? {} : { contentType }),
    })
    return sendJson(reply, 200, okEnvelope(messages(list), p))
  })

  app.get('/v1/feed/:author', (request, reply) => {
    const p = page(q(request), DEFAULT_FEED_LIMIT)
    const contentType = queryString(q(request), 'content_type')
    const list = service.feedByAuthor(param(request, 'author'), {
      ...p,
      ...(contentType === undefined ? {} : { contentType }),
    })
    return sendJson(reply, 200, okEnvelope(messages(list), p))
  })

  app.get('/v1/insights', (request, reply) => {
    const p = page(q(request), DEFAULT_FEED_LIMIT)
    return sendJson(reply, 200, okEnvelope(messages(service.insights(p)), p))
  })

  app.get('/v1/insights/search', (request, reply) => {
    const text = queryString(q(request), 'q')
    if (text === undefined || text === '')
      throw new ApiError('MISSING_QUERY', "query parameter 'q' is required")
    const p = page(q(request), DEFAULT_SEARCH_LIMIT)
    const contentType = queryString(q(request), 'content_type')
    const result = service.search(text, {
      ...p,
      ...(contentType === undefined ? {} : { contentType }),
    })
    return sendJson(
      reply,
      200,
      okEnvelope(messages(result.messages), { ...p, order: result.order }),
    )
  })

  app.get('/v1/message/:hash', (request, reply) =>
    sendJson(reply, 200, okEnvelope(service.message(param(request, 'hash')).wireText)),
  )

  app.get('/v1/peers', (_r, reply) =>
    sendJson(reply, 200, okEnvelope(JSON.stringify(service.peers()))),
  )
  app.post('/v1/peers', { config: { jsonBody: true } }, (request, reply) => {
    const body = parseObjectBody(request)
    if (!('address' in body)) throw new ApiError('INVALID_BODY', "missing field 'address'")
    if (typeof body['address'] !== 'string')
      throw new ApiError('INVALID_BODY', "field 'address' must be a string")
    return sendJson(reply, 201, okEnvelope(JSON.stringify(service.addPeer(body['address']))))
  })
  app.delete('/v1/peers/:address', (request, reply) => {
    service.removePeer(param(request, 'address'))
    return reply.code(204).send()
  })

  app.get('/v1/follows', (_r, reply) =>
    sendJson(
      reply,
      200,
      okEnvelope(JSON.stringify(service.follows().map((author) => ({ author })))),
    ),
  )
  app.post('/v1/follows/:author', (request, reply) => {
    const author = service.follow(param(request, 'author'))
    return sendJson(reply, 201, okEnvelope(JSON.stringify({ author })))
  })
  app.delete('/v1/follows/:author', (request, reply) => {
    service.unfollow(param(request, 'author'))
    return reply.code(204).send()
  })

  app.get('/v1/mesh', (_r, reply) =>
    sendJson(reply, 200, okEnvelope(JSON.stringify(service.mesh()))),
  )
}
