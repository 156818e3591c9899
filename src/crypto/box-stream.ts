/**
 * Box stream (PROTOCOL.md §3.4): XChaCha20-Poly1305 frames with an encrypted 18-byte header, a
 * 24-byte big-endian counter nonce per direction (header n, body n + 1) and the goodbye frame.
 */
import { EgregoreError } from '../errors.js'
import {
  BOX_BODY_MAX,
  BOX_HEADER_BYTES,
  BOX_HEADER_PLAINTEXT_BYTES,
  BOX_NONCE_BYTES,
} from '../codec/index.js'
import { boxHeader, uint16be, type BoxHeader, type State } from './box-stream-codec.js'
import { sodium } from './sodium.js'

/** One direction's state: a 32-byte key and the 24-byte nonce of its next AEAD operation. */
export interface BoxStreamKeys {
  readonly key: Uint8Array
  readonly nonce: Uint8Array
}

/** Options shared by the encryptor and decryptor. */
export interface BoxStreamOptions {
  /** Called with every nonce just before it is used (tests assert nonces never repeat). */
  readonly onNonce?: (nonce: Uint8Array) => void
}

/** Add 1 to a big-endian counter in place; all ones wraps to zero (§3.4). */
export function incrementNonce(nonce: Uint8Array): void {
  for (let i = nonce.length - 1; i >= 0; i--) {
    const v = ((nonce[i] as number) + 1) & 0xff
    nonce[i] = v
    if (v !== 0) return
  }
}

const ZERO_HEADER = new Uint8Array(BOX_HEADER_PLAINTEXT_BYTES)

/** Writes frames in one direction. */
export interface BoxEncryptor {
  /**
   * Encrypt one frame in place: the body plaintext (`1 ≤ bodyLength ≤ 4096`) is at
   * `out[offset + 34, offset + 34 + bodyLength)`; the 34-byte header ciphertext is written at
   * `offset` and the body is replaced by its ciphertext. Returns the frame length.
   */
  sealFrameInPlace(out: Uint8Array, offset: number, bodyLength: number): number
  /** A frame `header_ct ‖ body_ct` of a body (no length prefix). */
  sealFrame(body: Uint8Array): Uint8Array
  /** The 34-byte goodbye ciphertext (no length prefix). */
  sealGoodbye(): Uint8Array
  /** A copy of the nonce the next operation will use. */
  nextNonce(): Uint8Array
}

/** Reads frames in one direction. */
export interface BoxDecryptor {
  /**
   * Decrypt a 34-byte header; `null` means goodbye. Throws `DECODE_ERROR` on a bad tag. The
   * returned `bodyTag` is a view of internal state, valid until the next `openHeader`.
   */
  openHeader(headerCt: Uint8Array): BoxHeader | null
  /** Decrypt `body` in place with the tag from its header. Throws `DECODE_ERROR` on a bad tag. */
  openBodyInPlace(body: Uint8Array, bodyTag: Uint8Array): void
  /**
   * `openHeader` without allocating: the body length, or -1 for goodbye. The body tag stays inside
   * for `openFrameBody`, valid until the next header.
   */
  openFrameHeader(headerCt: Uint8Array): number
  /** Decrypt `body` in place with the tag of the last `openFrameHeader`. */
  openFrameBody(body: Uint8Array): void
  /** A copy of the nonce the next operation will use. */
  nextNonce(): Uint8Array
}

function stateKeys(keys: BoxStreamKeys): { key: Uint8Array; nonce: Uint8Array } {
  if (keys.key.length !== 32) throw new RangeError(`key: expected 32 bytes, got ${keys.key.length}`)
  if (keys.nonce.length !== BOX_NONCE_BYTES) {
    throw new RangeError(`nonce: expected ${BOX_NONCE_BYTES} bytes, got ${keys.nonce.length}`)
  }
  return { key: Uint8Array.from(keys.key), nonce: Uint8Array.from(keys.nonce) }
}

/** An encryptor starting at `keys.nonce` (the keys are copied). */
export function createBoxEncryptor(
  keys: BoxStreamKeys,
  options: BoxStreamOptions = {},
): BoxEncryptor {
  const { key, nonce } = stateKeys(keys)
  const onNonce = options.onNonce
  const headerPt = new Uint8Array(BOX_HEADER_PLAINTEXT_BYTES)
  const headerNonce = new Uint8Array(BOX_NONCE_BYTES)
  const tag = headerPt.subarray(2)
  const headerState: State = { buffer: headerPt, start: 0, end: BOX_HEADER_PLAINTEXT_BYTES }

  function sealFrameInPlace(out: Uint8Array, offset: number, bodyLength: number): number {
    if (!Number.isInteger(bodyLength) || bodyLength < 1 || bodyLength > BOX_BODY_MAX) {
      throw new RangeError(`bodyLength: expected 1..${BOX_BODY_MAX}, got ${bodyLength}`)
    }
    headerNonce.set(nonce)
    onNonce?.(headerNonce)
    incrementNonce(nonce)
    onNonce?.(nonce)
    // The body is sealed first: its tag travels inside the header (§3.4 step 2).
    const body = out.subarray(offset + BOX_HEADER_BYTES, offset + BOX_HEADER_BYTES + bodyLength)
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
      body,
      tag,
      body,
      null,
      null,
      nonce,
      key,
    )
    incrementNonce(nonce)
    // The tag is already in place (headerPt[2..18]); only the length is left to write.
    headerState.start = 0
    uint16be.encode(headerState, bodyLength)
    const headerCt = out.subarray(offset, offset + BOX_HEADER_BYTES)
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      headerCt,
      headerPt,
      null,
      null,
      headerNonce,
      key,
    )
    return BOX_HEADER_BYTES + bodyLength
  }

  return {
    sealFrameInPlace,
    sealFrame(body) {
      const out = new Uint8Array(BOX_HEADER_BYTES + body.length)
      out.set(body, BOX_HEADER_BYTES)
      sealFrameInPlace(out, 0, body.length)
      return out
    },
    sealGoodbye() {
      const out = new Uint8Array(BOX_HEADER_BYTES)
      onNonce?.(nonce)
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, ZERO_HEADER, null, null, nonce, key)
      incrementNonce(nonce)
      return out
    },
    nextNonce: () => Uint8Array.from(nonce),
  }
}

function isZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i] as number
  return acc === 0
}

/** A decryptor starting at `keys.nonce` (the keys are copied). */
export function createBoxDecryptor(
  keys: BoxStreamKeys,
  options: BoxStreamOptions = {},
): BoxDecryptor {
  const { key, nonce } = stateKeys(keys)
  const onNonce = options.onNonce
  const headerPt = new Uint8Array(BOX_HEADER_PLAINTEXT_BYTES)
  const headerState: State = { buffer: headerPt, start: 0, end: BOX_HEADER_PLAINTEXT_BYTES }
  const headerTag = headerPt.subarray(2)

  function openFrameHeader(headerCt: Uint8Array): number {
    if (headerCt.length !== BOX_HEADER_BYTES) {
      throw new RangeError(`header: expected ${BOX_HEADER_BYTES} bytes, got ${headerCt.length}`)
    }
    onNonce?.(nonce)
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(headerPt, null, headerCt, null, nonce, key)
    } catch (cause) {
      throw new EgregoreError('DECODE_ERROR', 'header decryption failed', { cause })
    }
    incrementNonce(nonce)
    if (isZero(headerPt)) return -1
    headerState.start = 0
    return uint16be.decode(headerState)
  }

  function openBodyInPlace(body: Uint8Array, tag: Uint8Array): void {
    onNonce?.(nonce)
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        body,
        null,
        body,
        tag,
        null,
        nonce,
        key,
      )
    } catch (cause) {
      throw new EgregoreError('DECODE_ERROR', 'body decryption failed', { cause })
    }
    incrementNonce(nonce)
  }

  return {
    openHeader(headerCt) {
      if (openFrameHeader(headerCt) < 0) return null
      headerState.start = 0
      return boxHeader.decode(headerState)
    },
    openBodyInPlace,
    openFrameHeader,
    openFrameBody: (body) => openBodyInPlace(body, headerTag),
    nextNonce: () => Uint8Array.from(nonce),
  }
}
