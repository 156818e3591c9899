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
/** State/Codec cursor codecs (big-endian ints, fixed bytes), the box header, frame length checks (§3.4, §3.5.2). */
export {
  type State,
  type Codec,
  type BoxHeader,
  uint16be,
  uint32be,
  readUint32be,
  fixed,
  encode,
  decode,
  boxHeader,
  checkFrameLength,
  checkFrameSize,
} from './box-stream-codec.js'
/** Box stream (§3.4): per-direction encryptor/decryptor with the 24-byte counter nonce; goodbye. */
export {
  type BoxStreamKeys,
  type BoxStreamOptions,
  type BoxEncryptor,
  type BoxDecryptor,
  incrementNonce,
  createBoxEncryptor,
  createBoxDecryptor,
} from './box-stream.js'
/** Fragmentation and reassembly of application messages (§3.5.3); goodbye on the wire (§3.6). */
export {
  type MessageAssembler,
  FLAG_MORE,
  FLAG_LAST,
  messageFrameCount,
  messageWireLength,
  encodeMessage,
  encodeMessageInto,
  encodeGoodbye,
  createMessageAssembler,
} from './box-stream-message.js'
/** Handshake wire layouts (§3.2): the 64-byte hello and the length-prefixed auth message. */
export { type WireHello, hello, authMessage } from './handshake-codec.js'
/** Handshake primitives (§3.2, §3.3): ephemerals, hello HMAC, shared secret, auth and session keys. */
export {
  type EphemeralKeyPair,
  type AuthKeys,
  type SessionKeys,
  createEphemeralKeyPair,
  helloHmac,
  sharedSecret,
  deriveAuthKeys,
  authSignedData,
  sealAuth,
  openAuthBox,
  deriveSessionKeys,
} from './handshake-keys.js'
/**
 * Handshake state machine and its explicit steps (§3.2): failures are `NETWORK_KEY_MISMATCH` (hello
 * HMAC) or `HANDSHAKE_FAILED`, with the texts of §3.2.1, the step and the likely cause.
 */
export {
  type HandshakeRole,
  type HandshakeOptions,
  type HandshakeResult,
  type HandshakeAction,
  type Handshake,
  createHello,
  verifyHello,
  computeSharedSecret,
  createAuth,
  checkAuthLength,
  openAuth,
  createHandshake,
} from './handshake.js'
/** Private box (§3.7): seal for 1–255 X25519 keys; open gives the plaintext or null (not a recipient). */
export {
  type SealOptions,
  type OpenedPrivateBox,
  privateBoxEntryKey,
  sealPrivateBox,
  openPrivateBox,
  openPrivateBoxDetailed,
} from './private-box.js'
