/** Layer 1: cryptography. The only place sodium-native and node:crypto are used (STYLE.md §8). */
export { randomBytes, wipe } from './sodium.js'
export { sha256, sha256Hex, sha256Concat, hmacSha256 } from './hash.js'
export {
  type Identity,
  identityFromSeed,
  sign,
  verify,
  isValidPublicKey,
  isValidFeedIdKey,
  toX25519PublicKey,
  toX25519SecretKey,
} from './ed25519.js'
export { DEFAULT_NETWORK_KEY, deriveNetworkKey, lanDiscriminator } from './network-key.js'
export { deriveKeyFileKey, encryptKeyFile, decryptKeyFile } from './key-file.js'
export {
  type VerifyItem,
  type SignatureVerifier,
  type VerifierPoolOptions,
  createInlineVerifier,
  createVerifierPool,
} from './verify-pool.js'
