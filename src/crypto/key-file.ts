/**
 * The passphrase-encrypted seed file `secret.key.enc` (PROTOCOL.md §2.4): Argon2id
 * (m = 19456 KiB, t = 2, p = 1) and ChaCha20-Poly1305-IETF, written as pretty JSON byte arrays.
 */
import {
  ARGON2_ITERATIONS,
  ARGON2_MEMORY_KIB,
  KEY_FILE_CIPHERTEXT_BYTES,
  KEY_FILE_NONCE_BYTES,
  KEY_FILE_SALT_BYTES,
  utf8,
} from '../codec/index.js'
import { EgregoreError } from '../errors.js'
import { randomBytes, sodium, wipe } from './sodium.js'

/** Argon2id key of a passphrase and 16-byte salt. */
export function deriveKeyFileKey(passphrase: string, salt: Uint8Array): Uint8Array {
  const key = new Uint8Array(32)
  sodium.crypto_pwhash(
    key,
    utf8(passphrase),
    salt,
    ARGON2_ITERATIONS,
    ARGON2_MEMORY_KIB * 1024,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  )
  return key
}

/** Encrypt a 32-byte seed; `salt` and `nonce` are random unless given (tests). */
export function encryptKeyFile(
  seed: Uint8Array,
  passphrase: string,
  fixed: { salt?: Uint8Array; nonce?: Uint8Array } = {},
): string {
  if (seed.length !== 32) throw new RangeError(`seed: expected 32 bytes, got ${seed.length}`)
  const salt = fixed.salt ?? randomBytes(KEY_FILE_SALT_BYTES)
  const nonce = fixed.nonce ?? randomBytes(KEY_FILE_NONCE_BYTES)
  const key = deriveKeyFileKey(passphrase, salt)
  const ciphertext = new Uint8Array(KEY_FILE_CIPHERTEXT_BYTES)
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(ciphertext, seed, null, null, nonce, key)
  wipe(key)
  const doc = { salt: [...salt], nonce: [...nonce], ciphertext: [...ciphertext] }
  return JSON.stringify(doc, null, 2)
}

/** Decrypt a key file. Throws `IDENTITY_ERROR` ("decryption failed (wrong passphrase?)", …). */
export function decryptKeyFile(text: string, passphrase: string): Uint8Array {
  const { salt, nonce, ciphertext } = parseKeyFile(text)
  const key = deriveKeyFileKey(passphrase, salt)
  const seed = new Uint8Array(Math.max(0, ciphertext.length - 16))
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(seed, null, ciphertext, null, nonce, key)
  } catch (err) {
    throw new EgregoreError('IDENTITY_ERROR', 'decryption failed (wrong passphrase?)', {
      cause: err,
    })
  } finally {
    wipe(key)
  }
  if (seed.length !== 32) throw new EgregoreError('IDENTITY_ERROR', 'decrypted key is not 32 bytes')
  return seed
}

function parseKeyFile(text: string): {
  salt: Uint8Array
  nonce: Uint8Array
  ciphertext: Uint8Array
} {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new EgregoreError('IDENTITY_ERROR', 'key file is not valid JSON', { cause: err })
  }
  const field = (name: string, length?: number): Uint8Array => {
    const v =
      typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[name] : undefined
    const ok =
      Array.isArray(v) &&
      v.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255) &&
      (length === undefined || v.length === length)
    if (!ok)
      throw new EgregoreError('IDENTITY_ERROR', `key file field '${name}' is missing or malformed`)
    return Uint8Array.from(v as number[])
  }
  return {
    salt: field('salt', KEY_FILE_SALT_BYTES),
    nonce: field('nonce', KEY_FILE_NONCE_BYTES),
    ciphertext: field('ciphertext'),
  }
}
