/** Ed25519 identities, signatures and the Ed25519→X25519 conversion (PROTOCOL.md §1.6, §2). */
import { feedIdFromBytes, feedIdToBytes, type FeedId } from '../codec/index.js'
import { sodium } from './sodium.js'

/** A signing identity. `secretKey` is libsodium's 64-byte form (seed ‖ public key). */
export interface Identity {
  readonly id: FeedId
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
  readonly seed: Uint8Array
}

/** Derive the identity of a 32-byte seed (RFC 8032 private key). */
export function identityFromSeed(seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${seed.length}`)
  const publicKey = new Uint8Array(32)
  const secretKey = new Uint8Array(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { id: feedIdFromBytes(publicKey), publicKey, secretKey, seed: Uint8Array.from(seed) }
}

/** Ed25519 signature (64 bytes) over `message`. */
export function sign(identity: Identity, message: Uint8Array): Uint8Array {
  const sig = new Uint8Array(64)
  sodium.crypto_sign_detached(sig, message, identity.secretKey)
  return sig
}

/** Ed25519 verification; malformed inputs give `false`, never an exception. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey)
  } catch {
    return false // sodium throws on malformed arguments; for a verifier that is just "invalid"
  }
}

/** Key check of §2.2 on raw bytes: a canonical encoding of a valid curve point. */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  return publicKey.length === 32 && sodium.crypto_core_ed25519_is_valid_point(publicKey)
}

const validKeys = new Map<string, boolean>()
const VALID_KEY_CACHE_SIZE = 4096

/**
 * Key check of §2.2 on a public ID: format check plus curve check. The curve check costs about
 * as much as half a signature verification, and a node sees few distinct authors, so results
 * are cached (bounded; oldest entries evicted first).
 */
export function isValidFeedIdKey(id: string): boolean {
  const cached = validKeys.get(id)
  if (cached !== undefined) return cached
  const key = feedIdToBytes(id)
  const valid = key !== null && isValidPublicKey(key)
  if (validKeys.size >= VALID_KEY_CACHE_SIZE)
    validKeys.delete(validKeys.keys().next().value as string)
  validKeys.set(id, valid)
  return valid
}

/** X25519 public key of an Ed25519 public key (§2.5); `null` for an invalid point. */
export function toX25519PublicKey(ed25519PublicKey: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(32)
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, ed25519PublicKey)
  } catch {
    return null // libsodium refuses points that are not on the curve or have small order
  }
  return out
}

/** X25519 secret key of an identity (§2.5): clamped first half of SHA-512(seed). */
export function toX25519SecretKey(identity: Identity): Uint8Array {
  const out = new Uint8Array(32)
  sodium.crypto_sign_ed25519_sk_to_curve25519(out, identity.secretKey)
  return out
}
