/** Layer 6: the node composition root. */
export {
  createNode,
  type EgregoreNode,
  type NodeConfig,
  type NodeDeps,
  type HookConfig,
} from './node.js'
export { loadOrCreateIdentity } from './identity-files.js'
export { createGossip, type Gossip, type GossipConfig, type GossipDeps } from './gossip.js'
export { openFeedCore, type FeedCore, type FeedCoreOptions } from './feed-core.js'
