/**
 * Handshake primitives (PROTOCOL.md §3.2, §3.3): ephemeral keys, hello HMAC, shared secret with the
 * low-order check, per-direction auth keys, the step-3/4 auth boxes and the session keys.
 */
import { EgregoreError } from '../errors.js'
import {
  BOX_NONCE_BYTES,
  HANDSHAKE_AUTH_CIPHERTEXT_BYTES,
  HANDSHAKE_AUTH_PLAINTEXT_BYTES,
  utf8,
} from '../codec/index.js'
import type { BoxStreamKeys } from './box-stream.js'
import type { Identity } from './ed25519.js'
import { sign } from './ed25519.js'
import { hmacSha256, sha256, sha256Concat } from './hash.js'
import { randomBytes, sodium } from './sodium.js'

const CLIENT_AUTH_LABEL = utf8('handshake-client-auth')
const SERVER_AUTH_LABEL = utf8('handshake-server-auth')
const C2S_LABEL = utf8('client-to-server')
const S2C_LABEL = utf8('server-to-client')
const ZERO_NONCE_12 = new Uint8Array(12)
const AEAD_TAG_BYTES = 16

/** An X25519 key pair used for one connection only. */
export interface EphemeralKeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

/** X25519 key pair of `secret` (32 bytes, clamped inside X25519), or of fresh random bytes. */
export function createEphemeralKeyPair(secret?: Uint8Array): EphemeralKeyPair {
  const secretKey = secret === undefined ? randomBytes(32) : Uint8Array.from(secret)
  if (secretKey.length !== 32) {
    throw new RangeError(`ephemeral secret: expected 32 bytes, got ${secretKey.length}`)
  }
  const publicKey = new Uint8Array(32)
  sodium.crypto_scalarmult_base(publicKey, secretKey)
  return { publicKey, secretKey }
}

/** HMAC-SHA256(key = K, message = E), the second half of a hello (§3.2 steps 1 and 2). */
export function helloHmac(networkKey: Uint8Array, ephemeralPublic: Uint8Array): Uint8Array {
  return hmacSha256(networkKey, ephemeralPublic)
}

/**
 * `ab = X25519(own ephemeral secret, peer ephemeral public)`, or `null` when the result is all
 * zero (a low-order peer key, §3.2.1). libsodium itself refuses an all-zero result.
 */
export function sharedSecret(ownSecret: Uint8Array, peerPublic: Uint8Array): Uint8Array | null {
  const ab = new Uint8Array(32)
  try {
    sodium.crypto_scalarmult(ab, ownSecret, peerPublic)
  } catch {
    return null // libsodium returns -1 exactly when the output is all zero
  }
  let acc = 0
  for (const b of ab) acc |= b
  return acc === 0 ? null : ab
}

/** Values derived from K and ab before the auth messages (§3.2). */
export interface AuthKeys {
  /** SHA-256(ab), part of what both signatures cover. */
  readonly abHash: Uint8Array
  /** B = SHA-256(K ‖ ab). */
  readonly b: Uint8Array
  readonly clientAuthKey: Uint8Array
  readonly serverAuthKey: Uint8Array
}

/** B, client_auth_key and server_auth_key of §3.2. */
export function deriveAuthKeys(networkKey: Uint8Array, ab: Uint8Array): AuthKeys {
  const b = sha256Concat(networkKey, ab)
  return {
    abHash: sha256(ab),
    b,
    clientAuthKey: sha256Concat(b, CLIENT_AUTH_LABEL),
    serverAuthKey: sha256Concat(b, SERVER_AUTH_LABEL),
  }
}

/** What an auth signature covers: `K ‖ E_peer ‖ SHA-256(ab)` (96 bytes). */
export function authSignedData(
  networkKey: Uint8Array,
  peerEphemeralPublic: Uint8Array,
  abHash: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(96)
  out.set(networkKey, 0)
  out.set(peerEphemeralPublic, 32)
  out.set(abHash, 64)
  return out
}

/** The step-3/4 ciphertext: ChaCha20-Poly1305-IETF(authKey, 12 zero bytes, sig ‖ pk), 112 bytes. */
export function sealAuth(
  identity: Identity,
  signedData: Uint8Array,
  authKey: Uint8Array,
): Uint8Array {
  const plaintext = new Uint8Array(HANDSHAKE_AUTH_PLAINTEXT_BYTES)
  plaintext.set(sign(identity, signedData), 0)
  plaintext.set(identity.publicKey, 64)
  const ct = new Uint8Array(HANDSHAKE_AUTH_CIPHERTEXT_BYTES)
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
    ct,
    plaintext,
    null,
    null,
    ZERO_NONCE_12,
    authKey,
  )
  return ct
}

/** Decrypt an auth ciphertext; `null` when it does not authenticate under `authKey`. */
export function openAuthBox(ciphertext: Uint8Array, authKey: Uint8Array): Uint8Array | null {
  if (ciphertext.length < AEAD_TAG_BYTES) return null
  const plaintext = new Uint8Array(ciphertext.length - AEAD_TAG_BYTES)
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
      plaintext,
      null,
      ciphertext,
      null,
      ZERO_NONCE_12,
      authKey,
    )
  } catch {
    return null // a forged, corrupted or wrongly keyed box: the caller reports "decryption failed"
  }
  return plaintext
}

/** The two directions' box-stream keys and initial nonces (§3.3). */
export interface SessionKeys {
  readonly clientToServer: BoxStreamKeys
  readonly serverToClient: BoxStreamKeys
}

/** c2s/s2c keys from K and ab; initial nonces from the first 24 bytes of SHA-256(E). */
export function deriveSessionKeys(
  networkKey: Uint8Array,
  ab: Uint8Array,
  clientEphemeralPublic: Uint8Array,
  serverEphemeralPublic: Uint8Array,
): SessionKeys {
  return {
    clientToServer: {
      key: sha256Concat(networkKey, ab, C2S_LABEL),
      nonce: sha256(clientEphemeralPublic).slice(0, BOX_NONCE_BYTES),
    },
    serverToClient: {
      key: sha256Concat(networkKey, ab, S2C_LABEL),
      nonce: sha256(serverEphemeralPublic).slice(0, BOX_NONCE_BYTES),
    },
  }
}

/** A handshake failure naming the step and the likely cause (STYLE.md §5). */
export function handshakeError(
  code: 'HANDSHAKE_FAILED' | 'NETWORK_KEY_MISMATCH' | 'TIMEOUT',
  step: number,
  text: string,
  cause: string,
): EgregoreError {
  return new EgregoreError(code, `handshake: ${text} (step ${step}); ${cause}`)
}
