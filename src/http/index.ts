/** Layer 4: HTTP plumbing shared by the node and relay APIs (PROTOCOL.md §7.1–7.3). */
export { createHttpServer, sendJson, type HttpServerOptions } from './server.js'
export {
  ApiError,
  API_ERROR_STATUS,
  RELAY_ONLY_ERROR_CODES,
  toApiError,
  type ApiErrorCode,
  type NodeApiErrorCode,
  type RelayApiErrorCode,
} from './api-error.js'
export { okEnvelope, errorEnvelope, jsonArray, type Metadata } from './envelope.js'
export { queryString, queryInt, queryBool, type RawQuery } from './query.js'
export { isLoopbackHost, isAllowedOrigin, hasBearerToken } from './request-checks.js'
