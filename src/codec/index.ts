/** Layer 0: pure codecs and protocol constants. Nothing here does I/O. */
export * from './limits.js'
export * from './json.js'
export * from './canonical-json.js'
export * from './timestamp.js'
export * from './bytes.js'
export * from './feed-id.js'
