/** Layer 2: messages, signatures, chain rules, publish and ingest (PROTOCOL.md §1, §5). */
export * from './message.js'
export * from './sign.js'
export * from './feed-store.js'
export { type RejectReason, type IngestResult } from './ingest.js'
export { checkPublishableContent, floatInteropWarnings } from './content-rules.js'
export * from './engine.js'
