/**
 * identity.json (PROTOCOL.md §1.6, §2, §3.1): key pairs, public IDs, X25519 keys, key-file bytes,
 * the message signature, public ID validation, network keys and the passphrase key file.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isFeedId, toBase64, toHex, utf8 } from '../../src/codec/index.js'
import {
  decryptKeyFile,
  deriveKeyFileKey,
  deriveNetworkKey,
  encryptKeyFile,
  identityFromSeed,
  isValidFeedIdKey,
  lanDiscriminator,
  sign,
  toX25519PublicKey,
  toX25519SecretKey,
  verify,
} from '../../src/crypto/index.js'
import {
  bool,
  egregoreError,
  hasKeys,
  hex,
  ints,
  loadVectors,
  str,
  type VectorEntry,
  checkEveryEntry,
} from '../helpers/vectors.js'

const entries = loadVectors(new URL('./identity.json', import.meta.url))

function keyPairTests(e: VectorEntry): void {
  const identity = identityFromSeed(hex(e.input, 'seed_hex'))
  const x = e.expected
  test('derives the Ed25519 public key and public ID from the seed', () => {
    assert.equal(toHex(identity.publicKey), str(x, 'ed25519_public_hex'))
    assert.equal(identity.id, str(x, 'public_id'))
    assert.equal(identity.id.length, 53)
  })
  test('derives the X25519 secret key (clamped SHA-512 of the seed)', () => {
    assert.equal(toHex(toX25519SecretKey(identity)), str(x, 'x25519_secret_hex'))
  })
  test('derives the X25519 public key from the Ed25519 public key', () => {
    const pk = toX25519PublicKey(identity.publicKey)
    assert.ok(pk !== null)
    assert.equal(toHex(pk), str(x, 'x25519_public_hex'))
    assert.equal(toBase64(pk), str(x, 'x25519_public_b64'))
  })
  test('key files hold the raw seed and the public ID as UTF-8', () => {
    assert.equal(toHex(identity.seed), str(x, 'secret_key_file_hex'))
    assert.equal(toHex(utf8(identity.id)), toHex(utf8(str(x, 'public_key_file_utf8'))))
    assert.ok(!str(x, 'public_key_file_utf8').endsWith('\n'))
  })
}

function signatureTests(e: VectorEntry): void {
  const identity = identityFromSeed(hex(e.input, 'seed_hex'))
  const signed = utf8(str(e.input, 'signed_text'))
  test('signs the 64 ASCII characters of the hex hash', () => {
    assert.equal(toHex(signed), str(e.expected, 'signed_bytes_hex'))
    const sig = sign(identity, signed)
    assert.equal(toHex(sig), str(e.expected, 'signature_hex'))
    assert.equal(toBase64(sig), str(e.expected, 'signature_b64'))
  })
  test('the signature verifies over the ASCII hash and not over the raw digest', () => {
    const sig = hex(e.expected, 'signature_hex')
    assert.equal(verify(identity.publicKey, signed, sig), true)
    assert.equal(verify(identity.publicKey, hex(e.input, 'signed_text'), sig), false)
  })
}

function publicIdTests(e: VectorEntry): void {
  const id = str(e.input, 'public_id')
  test(`format check gives ${String(bool(e.expected, 'valid_format'))}`, () => {
    assert.equal(isFeedId(id), bool(e.expected, 'valid_format'))
  })
  test(`key check gives ${String(bool(e.expected, 'valid_key'))}`, () => {
    assert.equal(isValidFeedIdKey(id), bool(e.expected, 'valid_key'))
  })
}

function networkKeyTests(e: VectorEntry): void {
  const text = str(e.input, 'network_key_string')
  test('network key string is hashed as its UTF-8 bytes', () => {
    assert.equal(toHex(utf8(text)), str(e.input, 'network_key_string_utf8_hex'))
  })
  test('K = SHA-256 of the string; LAN discriminator = first 8 bytes of SHA-256(K)', () => {
    const key = deriveNetworkKey(text)
    assert.equal(toHex(key), str(e.expected, 'network_key_hex'))
    const lan = lanDiscriminator(key)
    assert.equal(toHex(lan), str(e.expected, 'lan_discriminator_hex'))
    assert.deepEqual([...lan], ints(e.expected, 'lan_discriminator_ints'))
  })
}

function keyFileTests(e: VectorEntry): void {
  const seed = hex(e.input, 'seed_hex')
  const passphrase = str(e.input, 'passphrase')
  const salt = hex(e.input, 'salt_hex')
  const nonce = hex(e.input, 'nonce_hex')
  const file = str(e.expected, 'file_utf8')
  test('Argon2id derives the expected key', () => {
    assert.equal(toHex(deriveKeyFileKey(passphrase, salt)), str(e.expected, 'argon2id_key_hex'))
  })
  test('encrypting with the fixed salt and nonce gives the file text exactly', () => {
    const text = encryptKeyFile(seed, passphrase, { salt, nonce })
    assert.equal(text, file)
    const ciphertext = (JSON.parse(text) as { ciphertext: number[] }).ciphertext
    assert.equal(toHex(Uint8Array.from(ciphertext)), str(e.expected, 'ciphertext_hex'))
  })
  test('decrypting the file with the passphrase gives the seed', () => {
    assert.equal(toHex(decryptKeyFile(file, passphrase)), toHex(seed))
  })
}

function wrongPassphraseTests(e: VectorEntry): void {
  test('rejects the file with IDENTITY_ERROR', () => {
    assert.throws(
      () => decryptKeyFile(str(e.input, 'file_utf8'), str(e.input, 'passphrase')),
      (err: unknown) => {
        egregoreError('IDENTITY_ERROR')(err)
        assert.equal((err as Error).message, str(e.expected, 'error'))
        return true
      },
    )
  })
}

/** Choose the checks of an entry from the keys of its input and expected objects. */
function dispatch(e: VectorEntry): ((e: VectorEntry) => void) | null {
  const { input, expected } = e
  if (hasKeys(input, ['seed_hex']) && 'x25519_secret_hex' in expected) return keyPairTests
  if (hasKeys(input, ['seed_hex', 'signed_text'])) return signatureTests
  if (hasKeys(input, ['public_id'])) return publicIdTests
  if (hasKeys(input, ['network_key_string', 'network_key_string_utf8_hex'])) return networkKeyTests
  if (hasKeys(input, ['seed_hex', 'passphrase', 'salt_hex', 'nonce_hex'])) return keyFileTests
  if (hasKeys(input, ['file_utf8', 'passphrase']) && 'error' in expected)
    return wrongPassphraseTests
  return null
}

checkEveryEntry('identity.json', entries, dispatch, describe, test)
