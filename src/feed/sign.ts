/** Hash and signature of messages (PROTOCOL.md §1.6): Ed25519 over the 64 ASCII hex characters. */
import { feedIdToBytes, fromBase64Canonical, toBase64, utf8 } from '../codec/index.js'
import { sha256Hex, sign, verify, type Identity, type VerifyItem } from '../crypto/index.js'
import { canonicalize, toWireText, type Message, type UnsignedMessage } from './message.js'

/** A signed message with its canonical unsigned text and wire text. */
export interface SignedMessage {
  readonly message: Message
  readonly canonicalText: string
  readonly wireText: string
}

/** Hash and sign an unsigned message whose author is `identity`. */
export function signMessage(
  unsigned: UnsignedMessage,
  identity: Identity,
  contentText?: string,
): SignedMessage {
  if (unsigned.author !== identity.id)
    throw new RangeError('signMessage: author is not the signing identity')
  const { text } = canonicalize(unsigned, contentText)
  const hash = sha256Hex(text)
  const signature = toBase64(sign(identity, utf8(hash)))
  return {
    message: { ...unsigned, hash, signature },
    canonicalText: text,
    wireText: toWireText(text, hash, signature),
  }
}

/**
 * The signature check of a message as a verification job (§5.2 step 6), or `null` when the
 * signature is not canonical base64 of 64 bytes or the author is not a public ID.
 */
export function toVerifyItem(m: Message): VerifyItem | null {
  const publicKey = feedIdToBytes(m.author)
  const signature = fromBase64Canonical(m.signature)
  if (publicKey === null || signature === null || signature.length !== 64) return null
  return { publicKey, signature, message: utf8(m.hash) }
}

/** Full check of one message: signature over its claimed hash, and the hash recomputed. */
export function verifyMessage(m: Message): boolean {
  const item = toVerifyItem(m)
  if (item === null || !verify(item.publicKey, item.message, item.signature)) return false
  return sha256Hex(canonicalize(m).text) === m.hash
}
