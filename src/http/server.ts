/**
 * The HTTP server factory shared by the node and the relay: fastify with the envelope for every
 * error, the lossless body parser's raw text, body limits, the JSON content-type rule and, for
 * loopback servers, Host/Origin/token checks on every route (PROTOCOL.md §7.1–7.3).
 */
import { Buffer } from 'node:buffer'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { MAX_HTTP_BODY_BYTES } from '../codec/index.js'
import type { Logger } from '../log.js'
import { ApiError, toApiError } from './api-error.js'
import { errorEnvelope } from './envelope.js'
import { hasBearerToken, isAllowedOrigin, isLoopbackHost } from './request-checks.js'

export interface HttpServerOptions {
  readonly log: Logger
  /** Largest request body (default 1 MiB). */
  readonly bodyLimit?: number
  /** Enforce loopback Host and Origin (node API: true; the public relay API: false). */
  readonly loopbackOnly: boolean
  /** Require `Authorization: Bearer <token>` on every route. */
  readonly apiToken?: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a JSON body: require `Content-Type: application/json` (415 otherwise). */
    jsonBody?: boolean
  }
}

/** Send a JSON text body with a status. */
export function sendJson(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(body)
}

/** Create a fastify instance with Egregore's HTTP rules; routes are added by the caller. */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? MAX_HTTP_BODY_BYTES
  const app = Fastify({
    logger: false,
    bodyLimit,
    routerOptions: { maxParamLength: 512 },
    // Our own onRequest check answers requests during shutdown with the envelope.
    return503OnClosing: false,
    clientErrorHandler: (err, socket) => {
      // Unparsable HTTP never reaches a route; answer it with the envelope too (§7.3).
      if (!socket.writable) return
      const body = errorEnvelope(
        'BAD_REQUEST',
        `malformed HTTP request: ${(err as { code?: string }).code ?? 'parse error'}`,
      )
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    },
  })
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  const patterns: { method: string; regex: RegExp }[] = []
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const regex = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}$`)
    for (const method of methods) if (method !== 'HEAD') patterns.push({ method, regex })
  })

  app.removeAllContentTypeParsers()
  // Routes read the raw text: REST parses it losslessly, MCP as the SDK expects.
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    (_req, body, done) => {
      done(null, body)
    },
  )

  app.addHook('onRequest', (request, _reply, done) => {
    if (closing) throw new ApiError('SERVICE_UNAVAILABLE', 'the node is shutting down')
    if (options.loopbackOnly) {
      if (!isLoopbackHost(request.headers.host))
        throw new ApiError('FORBIDDEN_HOST', 'host not allowed')
      if (!isAllowedOrigin(request.headers.origin)) {
        throw new ApiError('FORBIDDEN_ORIGIN', 'cross-origin requests are not allowed')
      }
    }
    if (
      options.apiToken !== undefined &&
      !hasBearerToken(request.headers.authorization, options.apiToken)
    ) {
      throw new ApiError('UNAUTHORIZED', 'missing or invalid bearer token')
    }
    done()
  })
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.routeOptions.config.jsonBody === true && !isJsonContentType(request)) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'expected Content-Type: application/json')
    }
    done()
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))]
    if (allowed.length > 0) {
      return sendError(
        reply,
        new ApiError('METHOD_NOT_ALLOWED', 'method not allowed', { allow: allowed.join(', ') }),
      )
    }
    return sendError(reply, new ApiError('NOT_FOUND', 'route not found'))
  })
  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err, bodyLimit)
    if (apiError.code === 'INTERNAL_ERROR') {
      options.log.error({ err, method: request.method, url: request.url }, 'request failed')
    }
    return sendError(reply, apiError)
  })
  return app
}

function isJsonContentType(request: FastifyRequest): boolean {
  const type = request.headers['content-type']
  return type !== undefined && /^application\/json\s*(;|$)/i.test(type)
}

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v)
  return sendJson(reply, err.status, errorEnvelope(err.code, err.message))
}
