/** Minimal typings for the parts of sodium-native we use (the published @types target v2). */
declare module 'sodium-native' {
  type Bytes = Uint8Array
  const sodium: {
    crypto_sign_PUBLICKEYBYTES: number
    crypto_sign_SECRETKEYBYTES: number
    crypto_sign_BYTES: number
    crypto_sign_seed_keypair(pk: Bytes, sk: Bytes, seed: Bytes): void
    crypto_sign_detached(sig: Bytes, message: Bytes, sk: Bytes): void
    crypto_sign_verify_detached(sig: Bytes, message: Bytes, pk: Bytes): boolean
    crypto_sign_ed25519_pk_to_curve25519(x25519Pk: Bytes, ed25519Pk: Bytes): void
    crypto_sign_ed25519_sk_to_curve25519(x25519Sk: Bytes, ed25519Sk: Bytes): void
    crypto_core_ed25519_is_valid_point(p: Bytes): boolean
    crypto_scalarmult(q: Bytes, n: Bytes, p: Bytes): void
    crypto_scalarmult_base(q: Bytes, n: Bytes): void
    crypto_aead_chacha20poly1305_ietf_encrypt(
      c: Bytes,
      m: Bytes,
      ad: Bytes | null,
      nsec: null,
      npub: Bytes,
      k: Bytes,
    ): number
    crypto_aead_chacha20poly1305_ietf_decrypt(
      m: Bytes,
      nsec: null,
      c: Bytes,
      ad: Bytes | null,
      npub: Bytes,
      k: Bytes,
    ): number
    crypto_aead_xchacha20poly1305_ietf_encrypt(
      c: Bytes,
      m: Bytes,
      ad: Bytes | null,
      nsec: null,
      npub: Bytes,
      k: Bytes,
    ): number
    crypto_aead_xchacha20poly1305_ietf_decrypt(
      m: Bytes,
      nsec: null,
      c: Bytes,
      ad: Bytes | null,
      npub: Bytes,
      k: Bytes,
    ): number
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
      c: Bytes,
      mac: Bytes,
      m: Bytes,
      ad: Bytes | null,
      nsec: null,
      npub: Bytes,
      k: Bytes,
    ): number
    crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
      m: Bytes,
      nsec: null,
      c: Bytes,
      mac: Bytes,
      ad: Bytes | null,
      npub: Bytes,
      k: Bytes,
    ): void
    crypto_pwhash(
      out: Bytes,
      password: Bytes,
      salt: Bytes,
      opslimit: number,
      memlimit: number,
      alg: number,
    ): void
    crypto_pwhash_ALG_ARGON2ID13: number
    crypto_hash_sha256(out: Bytes, input: Bytes): void
    crypto_hash_sha512(out: Bytes, input: Bytes): void
    randombytes_buf(buf: Bytes): void
    sodium_memzero(buf: Bytes): void
  }
  export default sodium
}
