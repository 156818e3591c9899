/** Layer 6: the relay (PROTOCOL.md §9): composition root, signed requests, retention, quota. */
export { createRelay, type Relay, type RelayConfig, type RelayDeps } from './relay.js'
export { registerRelayRoutes, type RelayStatus, type RelayRouteDeps } from './relay-routes.js'
export {
  signedText,
  checkPublicId,
  checkSignedRequest,
  verifySignedFields,
  createSignedRequest,
  type SignedRequestKind,
  type SignedFields,
  type SignedRequestCheck,
  type SignedRequestFailure,
  type SignedRequestSuccess,
} from './signed-request.js'
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimitOptions,
  type RateDecision,
} from './rate-limit.js'
export { createFeedQuota, gateIngest, type FeedQuota, type FeedQuotaOptions } from './quota.js'
export {
  createRetention,
  type Retention,
  type RetentionDeps,
  type RetentionOptions,
} from './retention.js'
