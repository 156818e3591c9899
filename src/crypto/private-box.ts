/**
 * Private box (PROTOCOL.md §3.7): one plaintext sealed for 1–255 recipients' X25519 keys,
 * `nonce(12) ‖ count(1) ‖ count × entry(48) ‖ body_ct`.
 */
import { EgregoreError } from '../errors.js'
import {
  PRIVATE_BOX_ENTRY_BYTES,
  PRIVATE_BOX_MAX_RECIPIENTS,
  PRIVATE_BOX_NONCE_BYTES,
} from '../codec/index.js'
import { toX25519SecretKey, type Identity } from './ed25519.js'
import { sha256 } from './hash.js'
import { randomBytes, sodium, wipe } from './sodium.js'

const SYM_KEY_BYTES = 32
const TAG_BYTES = 16
const HEADER_BYTES = PRIVATE_BOX_NONCE_BYTES + 1

/** Fixed randomness for reproducible boxes (vectors and tests only). */
export interface SealOptions {
  readonly symKey?: Uint8Array
  readonly nonce?: Uint8Array
}

/** SHA-256(X25519(own secret, peer public)): the key of one recipient entry (§3.7.2). */
export function privateBoxEntryKey(
  ownX25519Secret: Uint8Array,
  peerX25519Public: Uint8Array,
): Uint8Array {
  const shared = new Uint8Array(32)
  sodium.crypto_scalarmult(shared, ownX25519Secret, peerX25519Public)
  const key = sha256(shared)
  wipe(shared)
  return key
}

function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_BYTES)
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, null, null, nonce, key)
  return out
}

function aeadOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (ciphertext.length < TAG_BYTES) return null
  const out = new Uint8Array(ciphertext.length - TAG_BYTES)
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, null, nonce, key)
  } catch {
    return null // not ours or corrupted; the caller decides which
  }
  return out
}

function fixedOrRandom(value: Uint8Array | undefined, length: number, name: string): Uint8Array {
  if (value === undefined) return randomBytes(length)
  if (value.length !== length)
    throw new RangeError(`${name}: expected ${length} bytes, got ${value.length}`)
  return value
}

/**
 * Seal `plaintext` from `sender` for each X25519 public key in `recipients`, in order. Throws
 * `RangeError('no recipients')` or `RangeError('too many recipients (max 255)')`. A recipient key
 * of low order (all-zero shared secret) is a `RangeError` too.
 */
export function sealPrivateBox(
  sender: Identity,
  recipients: readonly Uint8Array[],
  plaintext: Uint8Array,
  options: SealOptions = {},
): Uint8Array {
  if (recipients.length === 0) throw new RangeError('no recipients')
  if (recipients.length > PRIVATE_BOX_MAX_RECIPIENTS) {
    throw new RangeError(`too many recipients (max ${PRIVATE_BOX_MAX_RECIPIENTS})`)
  }
  const symKey = fixedOrRandom(options.symKey, SYM_KEY_BYTES, 'symKey')
  const nonce = fixedOrRandom(options.nonce, PRIVATE_BOX_NONCE_BYTES, 'nonce')
  const secret = toX25519SecretKey(sender)
  const body = aeadSeal(symKey, nonce, plaintext)
  const out = new Uint8Array(
    HEADER_BYTES + recipients.length * PRIVATE_BOX_ENTRY_BYTES + body.length,
  )
  out.set(nonce, 0)
  out[PRIVATE_BOX_NONCE_BYTES] = recipients.length
  try {
    recipients.forEach((pk, i) => {
      if (pk.length !== 32)
        throw new RangeError(`recipient ${i}: expected 32 bytes, got ${pk.length}`)
      let key: Uint8Array
      try {
        key = privateBoxEntryKey(secret, pk)
      } catch (cause) {
        throw new RangeError(`recipient ${i}: not a usable X25519 public key`, { cause })
      }
      out.set(aeadSeal(key, nonce, symKey), HEADER_BYTES + i * PRIVATE_BOX_ENTRY_BYTES)
    })
  } finally {
    wipe(secret)
  }
  out.set(body, HEADER_BYTES + recipients.length * PRIVATE_BOX_ENTRY_BYTES)
  return out
}

/** An opened box: which entry was ours, the symmetric key it held and the plaintext. */
export interface OpenedPrivateBox {
  readonly slot: number
  readonly symKey: Uint8Array
  readonly plaintext: Uint8Array
}

/**
 * Open a box as `recipient`, given the sender's X25519 public key (not in the box). Returns the
 * plaintext, or `null` when no entry is addressed to us ("not a recipient"). Throws
 * `DECODE_ERROR` for `ciphertext too short`, `ciphertext truncated` and `body decryption failed`.
 */
export function openPrivateBox(
  recipient: Identity,
  senderX25519Public: Uint8Array,
  box: Uint8Array,
): Uint8Array | null {
  return openPrivateBoxDetailed(recipient, senderX25519Public, box)?.plaintext ?? null
}

/** `openPrivateBox` that also reports the slot and the symmetric key (tests, diagnostics). */
export function openPrivateBoxDetailed(
  recipient: Identity,
  senderX25519Public: Uint8Array,
  box: Uint8Array,
): OpenedPrivateBox | null {
  if (box.length < HEADER_BYTES) throw new EgregoreError('DECODE_ERROR', 'ciphertext too short')
  const count = box[PRIVATE_BOX_NONCE_BYTES] as number
  const bodyStart = HEADER_BYTES + count * PRIVATE_BOX_ENTRY_BYTES
  if (bodyStart > box.length) throw new EgregoreError('DECODE_ERROR', 'ciphertext truncated')
  if (count === 0) return null
  const nonce = box.subarray(0, PRIVATE_BOX_NONCE_BYTES)
  const key = recipientKey(recipient, senderX25519Public)
  if (key === null) return null
  for (let slot = 0; slot < count; slot++) {
    const start = HEADER_BYTES + slot * PRIVATE_BOX_ENTRY_BYTES
    // Entries are 48 bytes, so an entry that opens always yields a 32-byte key.
    const symKey = aeadOpen(key, nonce, box.subarray(start, start + PRIVATE_BOX_ENTRY_BYTES))
    if (symKey === null) continue
    const plaintext = aeadOpen(symKey, nonce, box.subarray(bodyStart))
    if (plaintext === null) throw new EgregoreError('DECODE_ERROR', 'body decryption failed')
    return { slot, symKey, plaintext }
  }
  return null
}

function recipientKey(recipient: Identity, senderX25519Public: Uint8Array): Uint8Array | null {
  if (senderX25519Public.length !== 32) {
    throw new RangeError(`senderX25519Public: expected 32 bytes, got ${senderX25519Public.length}`)
  }
  const secret = toX25519SecretKey(recipient)
  try {
    return privateBoxEntryKey(secret, senderX25519Public)
  } catch {
    return null // a low-order sender key shares no secret with anyone: we cannot be a recipient
  } finally {
    wipe(secret)
  }
}
