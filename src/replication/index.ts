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
export { startPushLink, type PushLink, type PushLinkDeps, type PushLinkStats } from './push-link.js'
/**
 * LAN discovery datagrams (§8.1, §8.3): `encodeAnnouncement` builds the exact announcement bytes
 * (`RangeError` on a bad discriminator or port); `parseAnnouncement` applies the receive filter and
 * returns a decision with the reason, never throws; `toCandidateAddress` brackets IPv6 sources.
 */
export {
  ANNOUNCEMENT_MAGIC,
  encodeAnnouncement,
  parseAnnouncement,
  toCandidateAddress,
  type Announcement,
  type AnnouncementDecision,
  type AnnouncementFilter,
  type AnnouncementRejectReason,
} from './discovery-codec.js'
