/** Byte helpers: hex and canonical base64 (PROTOCOL.md §0.1). Returns Uint8Array, never Buffer. */
import { Buffer } from 'node:buffer'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const HEX = /^(?:[0-9a-f]{2})*$/

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Bytes of lowercase (or uppercase) hex text; `null` when the text is not hex. */
export function fromHex(text: string): Uint8Array | null {
  if (!HEX.test(text.toLowerCase())) return null
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/**
 * Decode canonical base64: standard alphabet, `=` padding, zero unused bits. Anything else
 * (URL-safe characters, whitespace, missing padding, stray bits) gives `null`.
 */
export function fromBase64Canonical(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null
  const buf = Buffer.from(text, 'base64')
  if (buf.toString('base64') !== text) return null
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  const buf = Buffer.from(text, 'utf8')
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** Byte length of a string in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** Constant-time equality of two byte arrays of the same length. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}
