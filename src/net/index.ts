/** Layer 4: sockets and the secure transport (PROTOCOL.md §3, §4.11). Knows no gossip documents. */

/**
 * Dial a peer and complete the client handshake. Rejects with `IO_ERROR`, `TIMEOUT`, `ABORTED`,
 * `NETWORK_KEY_MISMATCH` or `HANDSHAKE_FAILED`; see {@link DialOptions} for defaults.
 */
export { type DialOptions, dialSecure } from './dial.js'

/**
 * Listen for peers: server handshake, 64-connection limit, own identity refused; each
 * authenticated connection goes to `onConnection`. Failures close only their connection.
 */
export { type ListenOptions, type SecureServer, listenSecure } from './listen.js'

/**
 * A secure connection: `send(bytes)` (fragments, encrypts, waits for 'drain'), `receive()` /
 * async iteration of reassembled messages (`null`/end after goodbye or EOF), `close()` (goodbye,
 * then end), `destroy(reason)`, per-read timeouts and persistent mode. Errors carry codes:
 * `DECODE_ERROR`, `FRAME_TOO_LARGE`, `TIMEOUT`, `IO_ERROR`, `CLOSED`.
 */
export {
  type SecureConnection,
  type SecureConnectionOptions,
  type TransportStream,
  RECEIVE_HIGH_WATER_MARK_BYTES,
  SEND_HIGH_WATER_MARK_BYTES,
  createSecureConnection,
} from './secure-connection.js'

/** Drive a handshake state machine over a socket with per-read and overall timeouts. */
export { type HandshakeIoOptions, type HandshakeOutcome, runHandshake } from './handshake-io.js'

/**
 * Incremental, socket-free box-stream reader: push chunks, decode messages; `decodeAll` decodes a
 * whole byte string. Throws the fatal errors of PROTOCOL.md §3.5.2–§3.5.3 with their codes.
 */
export {
  type DecoderPhase,
  type FrameDecoder,
  type FrameDecoderOptions,
  createFrameDecoder,
  decodeAll,
} from './frame-decoder.js'

/** Chunk queue with exact-length reads that copy only when a read spans chunks. */
export { type ByteQueue, createByteQueue } from './byte-queue.js'
