/** Public IDs `@<base64>.ed25519` and message hashes (PROTOCOL.md §2.1, §2.2 format check). */
import { EgregoreError } from '../errors.js'
import { fromBase64Canonical, toBase64 } from './bytes.js'
import { PUBLIC_ID_LENGTH } from './limits.js'

/** A public ID that passed the format check. */
export type FeedId = string & { readonly __brand: 'FeedId' }
/** A message hash: 64 lowercase hex characters. */
export type MessageHash = string & { readonly __brand: 'MessageHash' }

/** The 32 key bytes of a public ID, or `null` if the format check fails (curve not checked). */
export function feedIdToBytes(id: string): Uint8Array | null {
  if (id.length !== PUBLIC_ID_LENGTH || !id.startsWith('@') || !id.endsWith('.ed25519')) return null
  const key = fromBase64Canonical(id.slice(1, 45))
  return key !== null && key.length === 32 ? key : null
}

/** Format check of §2.2 (level 1). Never throws. */
export function isFeedId(id: unknown): id is FeedId {
  return typeof id === 'string' && feedIdToBytes(id) !== null
}

/** Format-check untrusted text. Throws `DECODE_ERROR` naming the expected form. */
export function parseFeedId(id: string): FeedId {
  if (!isFeedId(id))
    throw new EgregoreError('DECODE_ERROR', 'author must be in @<base64>.ed25519 format')
  return id
}

/** The public ID of 32 Ed25519 public key bytes. */
export function feedIdFromBytes(publicKey: Uint8Array): FeedId {
  if (publicKey.length !== 32)
    throw new RangeError(`expected 32 key bytes, got ${publicKey.length}`)
  return `@${toBase64(publicKey)}.ed25519` as FeedId
}

/** True for 64 lowercase hex characters. */
export function isMessageHash(text: unknown): text is MessageHash {
  return typeof text === 'string' && /^[0-9a-f]{64}$/.test(text)
}
