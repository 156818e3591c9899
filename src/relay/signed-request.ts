/**
 * Signed relay requests (PROTOCOL.md §9.4): the signed texts, their verification in the order of
 * §9.5 (public ID, signature encoding, timestamp, age, signature), and signing for clients.
 */
import {
  SIGNED_REQUEST_MAX_AGE_MS,
  SIGNED_REQUEST_MAX_AHEAD_MS,
  feedIdToBytes,
  fromBase64Canonical,
  parseTimestamp,
  toBase64,
  toSortableTimestamp,
  timestampToMillis,
  utf8,
  type Timestamp,
} from '../codec/index.js'
import { isValidFeedIdKey, sign, verify, type Identity } from '../crypto/index.js'
import type { ApiErrorCode } from '../http/index.js'

/** Which route a request is signed for. */
export type SignedRequestKind = 'register' | 'settings'

/** The fields every signed request carries, as received. */
export interface SignedFields {
  readonly publicId: string
  readonly timestamp: string
  readonly signature: string
}

/** A failed check: the §9.5 code and a message for the envelope. */
export interface SignedRequestFailure {
  readonly ok: false
  readonly code: ApiErrorCode
  readonly message: string
}

/** A passed check, with the timestamp in sortable form (settings replay protection). */
export interface SignedRequestSuccess {
  readonly ok: true
  readonly sortableTimestamp: string
}

export type SignedRequestCheck = SignedRequestSuccess | SignedRequestFailure

/**
 * The UTF-8 text that is signed (§9.4): `register:<id>:<timestamp>` or `<id>:<timestamp>`.
 * The two cannot be confused: one starts with `register:`, the other with `@`.
 */
export function signedText(kind: SignedRequestKind, publicId: string, timestamp: string): string {
  return kind === 'register' ? `register:${publicId}:${timestamp}` : `${publicId}:${timestamp}`
}

const fail = (code: ApiErrorCode, message: string): SignedRequestFailure => ({
  ok: false,
  code,
  message,
})

/** The key check of §2.2 (format and curve point); `null` when it passes. */
export function checkPublicId(publicId: string): SignedRequestFailure | null {
  return isValidFeedIdKey(publicId)
    ? null
    : fail('INVALID_PUBLIC_ID', 'public_id must be a valid @<base64>.ed25519 Ed25519 public key')
}

/**
 * The checks after the public ID (§9.4), in order: signature encoding (`INVALID_SIGNATURE`),
 * timestamp syntax and future skew (`INVALID_TIMESTAMP`), age (`STALE_REQUEST`), Ed25519
 * verification (`SIGNATURE_INVALID`). `publicId` must have passed `checkPublicId`.
 */
export function verifySignedFields(
  kind: SignedRequestKind,
  fields: SignedFields,
  nowMs: number,
): SignedRequestCheck {
  const signature = fromBase64Canonical(fields.signature)
  if (signature?.length !== 64) {
    return fail('INVALID_SIGNATURE', 'signature must be canonical base64 of 64 bytes')
  }
  let ts: Timestamp
  try {
    ts = parseTimestamp(fields.timestamp)
  } catch {
    return fail('INVALID_TIMESTAMP', 'timestamp must be an RFC 3339 date-time')
  }
  const atMs = timestampToMillis(ts)
  if (atMs - nowMs > SIGNED_REQUEST_MAX_AHEAD_MS) {
    return fail(
      'INVALID_TIMESTAMP',
      `timestamp is more than ${SIGNED_REQUEST_MAX_AHEAD_MS / 1000} s in the future`,
    )
  }
  if (nowMs - atMs > SIGNED_REQUEST_MAX_AGE_MS) {
    return fail(
      'STALE_REQUEST',
      `timestamp is more than ${SIGNED_REQUEST_MAX_AGE_MS / 1000} s old; check the clock`,
    )
  }
  const key = feedIdToBytes(fields.publicId)
  // The timestamp is signed exactly as sent, not in its canonical form.
  const text = utf8(signedText(kind, fields.publicId, fields.timestamp))
  if (key === null || !verify(key, text, signature)) {
    return fail('SIGNATURE_INVALID', 'signature verification failed')
  }
  return { ok: true, sortableTimestamp: toSortableTimestamp(ts) }
}

/** All checks of §9.4 in order (the settings route; registration adds its nickname check). */
export function checkSignedRequest(
  kind: SignedRequestKind,
  fields: SignedFields,
  nowMs: number,
): SignedRequestCheck {
  return checkPublicId(fields.publicId) ?? verifySignedFields(kind, fields, nowMs)
}

/** Sign a request as a client (`egregore relay register`): the body fields of §9.4. */
export function createSignedRequest(
  identity: Identity,
  kind: SignedRequestKind,
  timestamp: Timestamp,
): { public_id: string; timestamp: string; signature: string } {
  const signature = sign(identity, utf8(signedText(kind, identity.id, timestamp)))
  return { public_id: identity.id, timestamp, signature: toBase64(signature) }
}
