/** Layer 5: the node's interfaces: REST routes, SSE and MCP over the NodeService (PROTOCOL.md §7). */
export {
  createNodeService,
  requireAuthor,
  requireAddress,
  type NodeService,
  type NodeInfo,
  type Status,
  type PeerEntry,
  type SyncView,
} from './service.js'
export { registerRestRoutes, parseObjectBody } from './rest-routes.js'
export { createSseHub, type SseHub, type SseOptions } from './sse.js'
export { meshEntries, meshStatus, type MeshEntry, type MeshStatus } from './mesh.js'
export { registerMcp, type McpOptions } from './mcp.js'
