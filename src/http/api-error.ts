/**
 * HTTP error codes and their statuses (PROTOCOL.md §7.3): the one table that maps errors to
 * HTTP. Inner layers throw EgregoreError; only this module decides the status.
 */
import { isEgregoreError } from '../errors.js'

export type ApiErrorCode = NodeApiErrorCode | RelayApiErrorCode

/** Codes of the node API (§7.3); the relay answers the generic ones too. */
export type NodeApiErrorCode =
  | 'INVALID_JSON'
  | 'BAD_REQUEST'
  | 'INVALID_BODY'
  | 'INVALID_QUERY'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'FORBIDDEN_ORIGIN'
  | 'FORBIDDEN_HOST'
  | 'UNAUTHORIZED'
  | 'MISSING_QUERY'
  | 'INVALID_AUTHOR'
  | 'INVALID_ADDRESS'
  | 'INVALID_CONTENT'
  | 'FEED_INTEGRITY'
  | 'DUPLICATE_MESSAGE'
  | 'SIGNATURE_INVALID'
  | 'SERIALIZATION_ERROR'
  | 'IDENTITY_NOT_FOUND'
  | 'TOO_MANY_SUBSCRIBERS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR'

/** Codes only the relay API answers (§9.4, §9.5). */
export type RelayApiErrorCode =
  | 'INVALID_PUBLIC_ID'
  | 'NICKNAME_TOO_LONG'
  | 'INVALID_SIGNATURE'
  | 'INVALID_TIMESTAMP'
  | 'STALE_REQUEST'
  | 'ALREADY_REGISTERED'
  | 'MAX_PEERS_REACHED'
  | 'NOT_REGISTERED'
  | 'RATE_LIMITED'

/** The relay-only codes, for documents and tests that list one API's codes. */
export const RELAY_ONLY_ERROR_CODES: readonly RelayApiErrorCode[] = [
  'INVALID_PUBLIC_ID',
  'NICKNAME_TOO_LONG',
  'INVALID_SIGNATURE',
  'INVALID_TIMESTAMP',
  'STALE_REQUEST',
  'ALREADY_REGISTERED',
  'MAX_PEERS_REACHED',
  'NOT_REGISTERED',
  'RATE_LIMITED',
]

/** HTTP status of each code. */
export const API_ERROR_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  INVALID_BODY: 422,
  INVALID_QUERY: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  METHOD_NOT_ALLOWED: 405,
  NOT_FOUND: 404,
  FORBIDDEN_ORIGIN: 403,
  FORBIDDEN_HOST: 403,
  UNAUTHORIZED: 401,
  MISSING_QUERY: 400,
  INVALID_AUTHOR: 400,
  INVALID_ADDRESS: 400,
  INVALID_CONTENT: 400,
  FEED_INTEGRITY: 400,
  DUPLICATE_MESSAGE: 409,
  SIGNATURE_INVALID: 400,
  SERIALIZATION_ERROR: 400,
  IDENTITY_NOT_FOUND: 404,
  TOO_MANY_SUBSCRIBERS: 503,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
  INVALID_PUBLIC_ID: 400,
  NICKNAME_TOO_LONG: 400,
  INVALID_SIGNATURE: 400,
  INVALID_TIMESTAMP: 400,
  STALE_REQUEST: 400,
  ALREADY_REGISTERED: 400,
  MAX_PEERS_REACHED: 400,
  NOT_REGISTERED: 404,
  RATE_LIMITED: 429,
}

/** An error answered as an envelope with `code` and the status from the table. */
export class ApiError extends Error {
  readonly code: ApiErrorCode
  readonly status: number
  readonly headers: Readonly<Record<string, string>>

  constructor(code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = API_ERROR_STATUS[code]
    this.headers = headers
  }
}

/** Fastify's own error codes for malformed requests, mapped to ours. */
const FASTIFY_CODES: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_BAD_URL: 'NOT_FOUND',
  FST_ERR_ASYNC_CONSTRAINT: 'INTERNAL_ERROR',
}

/**
 * The API error for anything a route or hook threw. Unknown errors become INTERNAL_ERROR with a
 * generic message (the detail goes to the log only).
 */
export function toApiError(err: unknown, bodyLimit: number): ApiError {
  if (err instanceof ApiError) return err
  if (isEgregoreError(err)) {
    // Codes not listed are failures of the node itself, not of the request.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (err.code) {
      case 'INVALID_CONTENT':
        return new ApiError('INVALID_CONTENT', err.message)
      case 'FEED_INTEGRITY':
        return new ApiError('FEED_INTEGRITY', err.message)
      case 'NOT_FOUND':
        return new ApiError('NOT_FOUND', err.message)
      case 'DECODE_ERROR':
        return new ApiError('INVALID_BODY', err.message)
      case 'CLOSED':
        return new ApiError('SERVICE_UNAVAILABLE', 'the node is shutting down')
      default:
        return new ApiError('INTERNAL_ERROR', 'an internal error occurred')
    }
  }
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
  const mapped = FASTIFY_CODES[code]
  if (mapped === 'PAYLOAD_TOO_LARGE')
    return new ApiError(mapped, `request body exceeds ${bodyLimit} bytes`)
  if (mapped === 'UNSUPPORTED_MEDIA_TYPE')
    return new ApiError(mapped, 'expected Content-Type: application/json')
  if (mapped === 'INVALID_JSON') return new ApiError(mapped, 'invalid JSON body: empty body')
  if (mapped !== undefined && mapped !== 'INTERNAL_ERROR') {
    return new ApiError(mapped, err instanceof Error ? err.message : 'bad request')
  }
  return new ApiError('INTERNAL_ERROR', 'an internal error occurred')
}
