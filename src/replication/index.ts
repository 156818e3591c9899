/**
 * Layer 4: replication (PROTOCOL.md §4). So far the pure codec of the ten gossip documents
 * (§4.1); the pull exchange, push links and sync loop build on it.
 */
export * from './gossip-types.js'
export { parseGossipMessage } from './gossip-parse.js'
export { encodeGossipMessage, writeGossipMessage } from './gossip-write.js'
export {
  buildHave,
  computeWants,
  serveWant,
  receiveMessages,
  runPullClient,
  runPullServer,
  type DocumentChannel,
  type PullDeps,
  type PullOutcome,
} from './pull-session.js'
