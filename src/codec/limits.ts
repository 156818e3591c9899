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
/** Largest JSON text the lossless parser accepts from one untrusted document. */
export const MAX_JSON_TEXT_BYTES = 1048576
/** Deepest nesting the lossless parser accepts (stack safety for hostile input). */
export const MAX_JSON_DEPTH = 128
/** Feed query page size default / maximum (§7.5). */
export const DEFAULT_FEED_LIMIT = 50
export const MAX_FEED_LIMIT = 200
/** Search page size default (§7.4). */
export const DEFAULT_SEARCH_LIMIT = 20
/** Most messages one publish transaction groups together. */
export const MAX_PUBLISH_GROUP = 512
/** Most messages one ingest transaction holds. */
export const MAX_INGEST_BATCH = 1024
