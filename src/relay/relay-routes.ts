/**
 * The relay's public HTTP API (PROTOCOL.md §9.5): signed registration and settings (§9.4) with a
 * per-IP rate limit, the directory, feed listings, status and health. Errors are envelopes with
 * the codes of §9.5, checked in the order listed there.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { parseObjectBody } from '../api/index.js'
import {
  MAX_SEQUENCE,
  RELAY_DEFAULT_PER_PAGE,
  RELAY_MAX_PER_PAGE,
  RELAY_NICKNAME_MAX_BYTES,
  U64_MAX,
  isFeedId,
  timestampFromMillis,
  utf8Length,
  type JsonObject,
} from '../codec/index.js'
import type { StoredMessage } from '../feed/index.js'
import {
  ApiError,
  jsonArray,
  okEnvelope,
  queryInt,
  queryString,
  sendJson,
  type RawQuery,
} from '../http/index.js'
import type { Logger } from '../log.js'
import type { MessageStore, RelayStore } from '../store/index.js'
import type { RateLimiter } from './rate-limit.js'
import {
  checkPublicId,
  checkSignedRequest,
  verifySignedFields,
  type SignedFields,
  type SignedRequestFailure,
} from './signed-request.js'

/** The relay status object (§9.5), keys in order; `capped_feeds` lists over-quota authors. */
export interface RelayStatus {
  version: string
  identity: string
  authorized_peers: number
  message_count: number
  feed_count: number
  ttl_days: number
  uptime_secs: number
  capped_feeds: string[]
}

export interface RelayRouteDeps {
  readonly registry: RelayStore
  readonly store: MessageStore
  readonly limiter: RateLimiter
  readonly clock: { now(): number }
  readonly status: () => RelayStatus
  /** `--max-peers`; 0 means unlimited. */
  readonly maxPeers: number
  readonly log: Logger
}

function requiredString(body: JsonObject, name: string): string {
  if (!(name in body)) throw new ApiError('INVALID_BODY', `missing field '${name}'`)
  const v = body[name]
  if (typeof v !== 'string') throw new ApiError('INVALID_BODY', `field '${name}' must be a string`)
  return v
}

function optionalBool(body: JsonObject, name: string): boolean | undefined {
  const v = body[name]
  if (v === undefined) return undefined
  if (typeof v !== 'boolean')
    throw new ApiError('INVALID_BODY', `field '${name}' must be true or false`)
  return v
}

function optionalNickname(body: JsonObject): string | null {
  const v = body['nickname']
  if (v === undefined || v === null) return null
  if (typeof v !== 'string')
    throw new ApiError('INVALID_BODY', "field 'nickname' must be a string or null")
  return v
}

function signedFields(body: JsonObject): SignedFields {
  return {
    publicId: requiredString(body, 'public_id'),
    timestamp: requiredString(body, 'timestamp'),
    signature: requiredString(body, 'signature'),
  }
}

function raise(failure: SignedRequestFailure): never {
  throw new ApiError(failure.code, failure.message)
}

/** `since_sequence`: a decimal u64; values above 2^53 − 1 select nothing, like 2^53 − 1. */
function sinceSequence(q: RawQuery): number {
  const v = queryString(q, 'since_sequence')
  if (v === undefined) return 0
  if (!/^\d{1,20}$/.test(v) || BigInt(v) > U64_MAX)
    throw new ApiError('INVALID_QUERY', "invalid query parameter 'since_sequence'")
  return BigInt(v) > BigInt(MAX_SEQUENCE) ? MAX_SEQUENCE : Number(v)
}

function perPage(q: RawQuery): number {
  return Math.min(queryInt(q, 'per_page') ?? RELAY_DEFAULT_PER_PAGE, RELAY_MAX_PER_PAGE)
}

function messages(list: readonly StoredMessage[]): string {
  return jsonArray(list.map((m) => m.wireText))
}

const json = (reply: FastifyReply, status: number, data: unknown): FastifyReply =>
  sendJson(reply, status, okEnvelope(JSON.stringify(data)))

/** Register the routes of §9.5 and `GET /v1/health`. */
export function registerRelayRoutes(app: FastifyInstance, deps: RelayRouteDeps): void {
  const { registry, store, clock, log } = deps
  const q = (r: FastifyRequest): RawQuery => r.query as RawQuery

  // Counted before the body is read, so malformed and oversized requests use up the budget too.
  const rateLimit: onRequestHookHandler = (request, _reply, done) => {
    const decision = deps.limiter.take(request.ip, clock.now())
    if (!decision.allowed) {
      throw new ApiError('RATE_LIMITED', 'too many registration or settings requests', {
        'retry-after': String(decision.retryAfterSecs),
      })
    }
    done()
  }

  app.post(
    '/v1/register',
    { config: { jsonBody: true }, onRequest: rateLimit },
    (request, reply) => {
      const body = parseObjectBody(request)
      const fields = signedFields(body)
      const nickname = optionalNickname(body)
      const priv = optionalBool(body, 'private') ?? false
      const badId = checkPublicId(fields.publicId)
      if (badId !== null) raise(badId)
      if (nickname !== null && utf8Length(nickname) > RELAY_NICKNAME_MAX_BYTES) {
        throw new ApiError(
          'NICKNAME_TOO_LONG',
          `nickname exceeds ${RELAY_NICKNAME_MAX_BYTES} UTF-8 bytes`,
        )
      }
      const nowMs = clock.now()
      const verified = verifySignedFields('register', fields, nowMs)
      if (!verified.ok) raise(verified)
      const outcome = registry.registerPeer(
        {
          publicId: fields.publicId,
          nickname,
          private: priv,
          firstSeen: timestampFromMillis(nowMs),
        },
        deps.maxPeers,
      )
      if (outcome === 'already_registered')
        throw new ApiError('ALREADY_REGISTERED', 'this public ID is already registered')
      if (outcome === 'max_peers') {
        throw new ApiError(
          'MAX_PEERS_REACHED',
          `the relay has reached its maximum of ${deps.maxPeers} registered peers`,
        )
      }
      log.info({ peer: fields.publicId, private: priv }, 'peer registered')
      return json(reply, 201, { public_id: fields.publicId, registered: true })
    },
  )

  app.post(
    '/v1/settings',
    { config: { jsonBody: true }, onRequest: rateLimit },
    (request, reply) => {
      const body = parseObjectBody(request)
      const fields = signedFields(body)
      const priv = optionalBool(body, 'private')
      const check = checkSignedRequest('settings', fields, clock.now())
      if (!check.ok) raise(check)
      const outcome = registry.updateSettings(fields.publicId, priv, check.sortableTimestamp)
      if (outcome === 'not_registered')
        throw new ApiError('NOT_REGISTERED', 'this public ID is not registered')
      if (outcome === 'stale') {
        throw new ApiError(
          'STALE_REQUEST',
          'timestamp is not later than the last accepted settings request',
        )
      }
      log.info({ peer: fields.publicId, private: priv }, 'peer settings updated')
      return json(reply, 200, { updated: true })
    },
  )

  app.get('/v1/peers', (_r, reply) =>
    json(
      reply,
      200,
      registry.directory().map((p) => ({
        public_id: p.publicId,
        nickname: p.nickname,
        last_connected: p.lastConnected,
      })),
    ),
  )

  app.get('/v1/feed', (request, reply) => {
    const page = Math.max(1, queryInt(q(request), 'page') ?? 1)
    const size = perPage(q(request))
    const list = store.queryFeed({ limit: size, offset: (page - 1) * size })
    return sendJson(reply, 200, okEnvelope(messages(list), { page, per_page: size }))
  })

  app.get('/v1/feed/:author', (request, reply) => {
    const author = (request.params as Record<string, string | undefined>)['author']
    if (author === undefined || !isFeedId(author))
      throw new ApiError('INVALID_PUBLIC_ID', 'author must be in @<base64>.ed25519 format')
    const since = sinceSequence(q(request))
    const size = perPage(q(request))
    return sendJson(reply, 200, okEnvelope(messages(store.messagesAfter(author, since, size))))
  })

  app.get('/v1/status', (_r, reply) => json(reply, 200, deps.status()))

  app.get('/v1/health', (_r, reply) => {
    try {
      registry.ping()
    } catch (err) {
      log.error({ err }, 'health check: the database cannot be read')
      throw new ApiError('SERVICE_UNAVAILABLE', 'the database cannot be read')
    }
    return json(reply, 200, { status: 'ok' })
  })
}
