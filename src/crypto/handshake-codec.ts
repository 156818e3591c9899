/**
 * Handshake wire layouts (PROTOCOL.md §3.2): the 64-byte hello `E ‖ HMAC(K, E)` and the auth
 * message `u32be(len) ‖ ct`, in the State/Codec shape.
 */
import { fixed, uint32be, type Codec } from './box-stream-codec.js'

/** A hello as it travels: the sender's ephemeral X25519 key and its HMAC under K. */
export interface WireHello {
  readonly ephemeralPublic: Uint8Array
  readonly hmac: Uint8Array
}

const key32 = fixed(32)

/** `E ‖ HMAC-SHA256(K, E)`, 64 raw bytes, no prefix (§3.2 steps 1 and 2). */
export const hello: Codec<WireHello> = {
  preencode: (s) => void (s.end += 64),
  encode: (s, h) => {
    key32.encode(s, h.ephemeralPublic)
    key32.encode(s, h.hmac)
  },
  decode: (s) => ({ ephemeralPublic: key32.decode(s), hmac: key32.decode(s) }),
}

/** `u32be(|ct|) ‖ ct` (§3.2 steps 3 and 4). Decode does not limit the length; see HANDSHAKE_AUTH_MAX. */
export const authMessage: Codec<Uint8Array> = {
  preencode: (s, ct) => void (s.end += 4 + ct.length),
  encode: (s, ct) => {
    uint32be.encode(s, ct.length)
    fixed(ct.length).encode(s, ct)
  },
  decode: (s) => fixed(uint32be.decode(s)).decode(s),
}
