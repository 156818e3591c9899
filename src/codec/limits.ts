/** Protocol constants (PROTOCOL.md §10). Every limit lives here under a name with its unit. */

/** Largest canonical content accepted on ingest and publish (§5.2, §5.5). */
export const MAX_CONTENT_BYTES = 65536
/** Length of a public ID `@<base64>.ed25519` (§2.1). */
export const PUBLIC_ID_LENGTH = 53
/** Highest sequence accepted at ingest (§5.2): 2^53 − 1. */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER
/** Largest u64 value (§1.4.1). */
export const U64_MAX = 18446744073709551615n
/** Smallest i64 value (§1.4.1). */
export const I64_MIN = -9223372036854775808n
/** Argon2id parameters of the passphrase key file (§2.4). */
export const ARGON2_MEMORY_KIB = 19456
export const ARGON2_ITERATIONS = 2
/** Key file sizes (§2.4). */
export const KEY_FILE_SALT_BYTES = 16
export const KEY_FILE_NONCE_BYTES = 12
export const KEY_FILE_CIPHERTEXT_BYTES = 48
/** Largest HTTP request body (§7.1). */
export const MAX_HTTP_BODY_BYTES = 1048576
/** Deepest nesting the lossless parser accepts (stack safety for hostile input). */
export const MAX_JSON_DEPTH = 128
/** Feed query page size default / maximum (§7.5). */
export const DEFAULT_FEED_LIMIT = 50
export const MAX_FEED_LIMIT = 200
/** Search page size default (§7.4). */
export const DEFAULT_SEARCH_LIMIT = 20
/** Most messages one publish transaction groups together. */
export const MAX_PUBLISH_GROUP = 512
/**
 * Most messages one ingest transaction holds. Each commit flushes a new FTS5 segment and writes
 * the touched pages to the WAL, so larger transactions cost less per message (store path, 100k
 * messages: 12.8k msg/s at 500, 18–19k at 2000, 22k at 4000); a 2000-message commit holds the
 * event loop for ~100 ms, which bounds it.
 */
export const MAX_INGEST_BATCH = 2048
/** Hook consumer queue (§7.8): events waiting for the hook; beyond it the oldest are dropped. */
export const HOOK_QUEUE_SIZE = 1024
/** Hook subprocess run time before it and its process group are killed (§7.8). */
export const HOOK_TIMEOUT_MS = 30000
/** Time allowed for one webhook request, response headers included (§7.8). */
export const WEBHOOK_TIMEOUT_MS = 30000
/** Retries of one webhook delivery after a transport error, timeout, 5xx or 429 (§7.8). */
export const WEBHOOK_RETRIES = 5
/** First webhook retry delay; doubled for each further retry, with jitter (§7.8). */
export const WEBHOOK_RETRY_BASE_MS = 1000
/** Bytes of a hook's stdout and of its stderr kept for the debug log (§7.8). */
export const HOOK_OUTPUT_LOG_BYTES = 4096
/** Handshake hello size: ephemeral key ‖ HMAC-SHA256 (§3.2). */
export const HANDSHAKE_HELLO_BYTES = 64
/** Handshake auth plaintext (signature ‖ public key) / ciphertext sizes (§3.2). */
export const HANDSHAKE_AUTH_PLAINTEXT_BYTES = 96
export const HANDSHAKE_AUTH_CIPHERTEXT_BYTES = 112
/** Largest handshake auth length prefix accepted, checked before reading the body (§3.2.1). */
export const HANDSHAKE_AUTH_MAX = 4096
/** Box-stream nonce / header ciphertext / header plaintext sizes (§3.4). */
export const BOX_NONCE_BYTES = 24
export const BOX_HEADER_BYTES = 34
export const BOX_HEADER_PLAINTEXT_BYTES = 18
/** Largest box-stream body a writer produces (§3.4). */
export const BOX_BODY_MAX = 4096
/** Largest frame length a reader accepts, checked before reading the frame (§3.5.2). */
export const MAX_FRAME_LENGTH = 65536
/** Application payload bytes per frame; each frame body is flag ‖ chunk (§3.5.3). */
export const CHUNK_SIZE = 4095
/** Largest application message, written or reassembled (§3.5.3). */
export const MAX_MESSAGE_BYTES = 131072
/** Time allowed for each read during the handshake, the pull exchange and within a frame (§3.5.4). */
export const READ_TIMEOUT_MS = 15000
/** TCP connect timeout of an outgoing connection (§4.10). */
export const TCP_CONNECT_TIMEOUT_MS = 10000
/** Budget of an outgoing sync connection / of an incoming connection (§4.10, §4.11). */
export const OUTGOING_CONNECTION_BUDGET_MS = 60000
export const INCOMING_CONNECTION_BUDGET_MS = 120000
/** Connections in the handshake or pull phase a gossip server holds at once (§4.11). */
export const MAX_INCOMING_CONNECTIONS = 64
/** Private box nonce / recipient entry sizes and most recipients (§3.7). */
export const PRIVATE_BOX_NONCE_BYTES = 12
export const PRIVATE_BOX_ENTRY_BYTES = 48
export const PRIVATE_BOX_MAX_RECIPIENTS = 255
/** Largest gossip document accepted by the decoder: one application message (§3.5.3, §4.1 rule 1). */
export const MAX_GOSSIP_MESSAGE_BYTES = MAX_MESSAGE_BYTES
/** Want requests sent, and considered when received; the rest are dropped (§4.4, §4.5). */
export const MAX_WANT_REQUESTS = 500
/** Messages considered per received `messages` document; the rest are dropped (§4.6). */
export const MAX_MESSAGES_PER_DOCUMENT = 200
/** Peer observations sent in our `have`, and considered when received (§4.3.1, §4.12). */
export const MAX_PEER_OBSERVATIONS = 500
/** Messages per page when serving a want (§4.5). */
export const SERVE_PAGE_SIZE = 50
/** `messages` batch packing: start size, per-message overhead, flush threshold (§4.5). */
export const BATCH_START_BYTES = 40
export const BATCH_MESSAGE_OVERHEAD_BYTES = 2
export const BATCH_FLUSH_BYTES = 3800
/** Messages served, and considered when receiving, per connection and direction (§4.5, §4.6). */
export const MAX_MESSAGES_PER_CONNECTION = 10000
/** Received messages handed to ingest in one call (one transaction) while a pull exchange runs. */
export const PULL_INGEST_BATCH = 2000
/** Default gossip sync interval (§4.10). */
export const DEFAULT_SYNC_INTERVAL_SECS = 300
/** Peers synced at once per cycle (§4.10). */
export const MAX_CONCURRENT_SYNCS = 8
/** Outgoing sync budget and TCP connect timeout (§4.10). */
export const OUTGOING_SYNC_BUDGET_MS = 60000
export const CONNECT_TIMEOUT_MS = 10000
/** Server wait for `subscribe` after the pull exchange (§4.7.1). */
export const SUBSCRIBE_WAIT_MS = 500
/** Backoff after consecutive failures: base and cap, full jitter (§4.10). */
export const BACKOFF_BASE_MS = 5000
export const BACKOFF_CAP_MS = 300000
/** Immediate catch-up syncs with one peer before waiting for the next cycle. */
export const MAX_CATCH_UP_ROUNDS = 100
/** Peer observations older than this are dropped on receipt and evicted each cycle (§4.12). */
export const OBSERVATION_MAX_AGE_MS = 72 * 3600 * 1000

// Live push (PROTOCOL.md §4.7)
/** How long the client waits for `subscribeack` (§4.7.1). */
export const SUBSCRIBEACK_WAIT_MS = 5000
/** Persistent links a node keeps at once (§4.7.1); the relay uses `--max-links`. */
export const MAX_PUSH_LINKS = 32
/** Relay default for `--max-links` (§9.2). */
export const RELAY_MAX_PUSH_LINKS = 1024
/** Pushes queued per link before further ones are dropped and a catch-up pull is scheduled. */
export const PUSH_QUEUE_LIMIT = 1024
/** Socket write buffer per link above which pushes are dropped (§4.7.3). */
export const PUSH_SOCKET_BUFFER_LIMIT_BYTES = 1024 * 1024
/** Keepalive `credit_grant{amount:0}` after this much outbound silence (§4.7.2). */
export const PUSH_KEEPALIVE_MS = 10000
/** Credits are capped at this (§4.7.2). */
export const MAX_PUSH_CREDITS = 10000
/** Below this many credits a `credit_request` is sent (§4.7.4). */
export const PUSH_CREDIT_LOW_WATER = 20
/** `suggested` of our `credit_request` (§4.7.4). */
export const PUSH_CREDIT_REQUEST = 100
/** The most we grant in reply to a `credit_request` (§4.7.2). */
export const PUSH_CREDIT_GRANT_MAX = 50
/** Received pushes ingested together at most (one transaction). */
export const PUSH_INGEST_BATCH = 256

// Relay (PROTOCOL.md §9)
/** Relay HTTP API / gossip default ports (§9.2). */
export const RELAY_DEFAULT_HTTP_PORT = 7660
export const RELAY_DEFAULT_GOSSIP_PORT = 7661
/** Default `--max-peers` (§9.2); 0 means unlimited. */
export const RELAY_DEFAULT_MAX_PEERS = 10000
/** Default `--ttl-days` (§9.2, §9.6); 0 keeps messages forever. */
export const RELAY_DEFAULT_TTL_DAYS = 30
/** Default `--max-feed-bytes`: stored wire text per author feed (§9.5 quota); 0 means unlimited. */
export const RELAY_DEFAULT_MAX_FEED_BYTES = 64 * 1024 * 1024
/** Time between two eviction runs; the first runs this long after start (§9.6). */
export const RELAY_EVICTION_INTERVAL_MS = 3600 * 1000
/** Longest registration nickname, in UTF-8 bytes (§9.5). */
export const RELAY_NICKNAME_MAX_BYTES = 64
/** Signed-request window: how old, and how far ahead of our clock, a timestamp may be (§9.4). */
export const SIGNED_REQUEST_MAX_AGE_MS = 300 * 1000
export const SIGNED_REQUEST_MAX_AHEAD_MS = 30 * 1000
/** Registration and settings requests per client IP per window (§9.5), and the window. */
export const RELAY_RATE_LIMIT_REQUESTS = 10
export const RELAY_RATE_LIMIT_WINDOW_MS = 60 * 1000
/** Client IPs the rate limiter tracks at once; beyond it the oldest window is forgotten. */
export const RELAY_RATE_LIMIT_TRACKED_IPS = 10000
/** Relay `GET /v1/feed` `per_page` default and maximum (§9.5). */
export const RELAY_DEFAULT_PER_PAGE = 50
export const RELAY_MAX_PER_PAGE = 200

// LAN discovery (PROTOCOL.md §8)
/** Default UDP discovery port, `--discovery-port` (§7.9). */
export const DEFAULT_DISCOVERY_PORT = 7656
/** One announcement every this long while a burst lasts (§8.2). */
export const LAN_BURST_PERIOD_MS = 5000
/** A burst sends while less than this has passed since it began: 6 datagrams (§8.2). */
export const LAN_BURST_LENGTH_MS = 30000
/** Silence after a burst; bursts start every 330 s (§8.2). */
export const LAN_QUIET_MS = 300000
/** Bytes of a datagram read; longer ones are truncated, then fail to parse (§8.3 step 1). */
export const LAN_RECEIVE_BUFFER_BYTES = 1024
/** Announcements of a lower gossip port are ignored (§8.3 step 2). */
export const LAN_MIN_GOSSIP_PORT = 1024
/** A candidate address recorded this recently is skipped (§8.3 step 4). */
export const LAN_COOLDOWN_MS = 60000
/** Addresses the cooldown map holds at most (§8.3 step 4). */
export const LAN_MAX_TRACKED_ADDRESSES = 1000
/** Pause after a receive error (§8.3 step 7). */
export const LAN_RECEIVE_ERROR_BACKOFF_MS = 1000
/** Connect, handshake and goodbye of a verification dial must fit in this (§8.3 step 5). */
export const LAN_VERIFY_TIMEOUT_MS = 5000
