/** SHA-256 and HMAC-SHA256 (PROTOCOL.md §1.6, §3.1, §3.2). */
import { createHash, createHmac } from 'node:crypto'

/** SHA-256 digest of bytes or UTF-8 text. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

/** Lowercase hex SHA-256 of bytes or UTF-8 text. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** SHA-256 over the concatenation of several byte strings. */
export function sha256Concat(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

/** RFC 2104 HMAC-SHA256 (not libsodium's crypto_auth, which is HMAC-SHA-512-256). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest())
}
