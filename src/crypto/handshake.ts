/**
 * Secret handshake state machine, client and server roles, no I/O (PROTOCOL.md §3.2, §3.3).
 * Checks run in the order of the table in §3.2.1; every failure names its step and likely cause.
 */
import {
  HANDSHAKE_AUTH_MAX,
  HANDSHAKE_AUTH_PLAINTEXT_BYTES,
  HANDSHAKE_HELLO_BYTES,
  bytesEqual,
  feedIdFromBytes,
  type FeedId,
} from '../codec/index.js'
import { decode, encode, readUint32be } from './box-stream-codec.js'
import type { BoxStreamKeys } from './box-stream.js'
import { isValidFeedIdKey, verify, type Identity } from './ed25519.js'
import { authMessage, hello } from './handshake-codec.js'
import {
  authSignedData,
  createEphemeralKeyPair,
  deriveAuthKeys,
  deriveSessionKeys,
  handshakeError,
  helloHmac,
  openAuthBox,
  sealAuth,
  sharedSecret,
  type AuthKeys,
  type EphemeralKeyPair,
} from './handshake-keys.js'

/** The side that dialled TCP is the client; the side that accepted is the server. */
export type HandshakeRole = 'client' | 'server'

/** Inputs of one handshake. */
export interface HandshakeOptions {
  readonly role: HandshakeRole
  readonly identity: Identity
  /** K = SHA-256(network key string), 32 bytes (§3.1). */
  readonly networkKey: Uint8Array
  /** Fixed ephemeral X25519 secret (vectors, tests); random when omitted. */
  readonly ephemeralSecret?: Uint8Array
}

/** A completed handshake: who the peer is and the two box-stream directions. */
export interface HandshakeResult {
  readonly role: HandshakeRole
  readonly remotePublicKey: Uint8Array
  readonly remoteId: FeedId
  /** Our writing direction (client: c2s; server: s2c). */
  readonly encrypt: BoxStreamKeys
  /** Our reading direction (client: s2c; server: c2s). */
  readonly decrypt: BoxStreamKeys
}

/** What the machine needs next. Reads are exact; an auth body's length comes from its prefix. */
export type HandshakeAction =
  | { readonly type: 'write'; readonly step: number; readonly bytes: Uint8Array }
  | { readonly type: 'read'; readonly step: number; readonly length: number; readonly what: string }
  | { readonly type: 'done'; readonly result: HandshakeResult }

/** A handshake in progress: call `next()`; after a `read`, pass exactly that many bytes to `receive`. */
export interface Handshake {
  readonly role: HandshakeRole
  readonly ephemeralPublicKey: Uint8Array
  /**
   * What to do now. A `write` is handed out once: the machine moves on as if it was sent. A
   * `read` repeats until `receive` is called. After a failure, throws that failure again.
   */
  next(): HandshakeAction
  /** Throws `NETWORK_KEY_MISMATCH` (hello HMAC) or `HANDSHAKE_FAILED`; the machine is then dead. */
  receive(bytes: Uint8Array): void
}

const other = (role: HandshakeRole): HandshakeRole => (role === 'client' ? 'server' : 'client')

/** Step 1 (client) / step 2 (server): `E ‖ HMAC(K, E)`. */
export function createHello(networkKey: Uint8Array, ephemeral: EphemeralKeyPair): Uint8Array {
  const e = ephemeral.publicKey
  return encode(hello, { ephemeralPublic: e, hmac: helloHmac(networkKey, e) })
}

/** Check the peer's hello (constant-time HMAC compare); returns its ephemeral key. */
export function verifyHello(
  networkKey: Uint8Array,
  bytes: Uint8Array,
  from: HandshakeRole,
): Uint8Array {
  const step = from === 'client' ? 1 : 2
  if (bytes.length !== HANDSHAKE_HELLO_BYTES)
    throw new RangeError(`hello: expected 64 bytes, got ${bytes.length}`)
  const h = decode(hello, bytes)
  if (!bytesEqual(helloHmac(networkKey, h.ephemeralPublic), h.hmac)) {
    const text = `${from} hello HMAC verification failed`
    throw handshakeError(
      'NETWORK_KEY_MISMATCH',
      step,
      text,
      'most likely a different --network-key',
    )
  }
  return Uint8Array.from(h.ephemeralPublic)
}

/** ab = X25519(e, E_peer); an all-zero result (low-order peer key) fails the handshake. */
export function computeSharedSecret(
  own: EphemeralKeyPair,
  peerEphemeral: Uint8Array,
  step: number,
): Uint8Array {
  const ab = sharedSecret(own.secretKey, peerEphemeral)
  if (ab === null) {
    const cause = 'the peer sent a low-order X25519 key (a broken or malicious peer)'
    throw handshakeError('HANDSHAKE_FAILED', step, 'low-order ephemeral key', cause)
  }
  return ab
}

/** Step 3 (client) / step 4 (server): `u32be(112) ‖ ChaCha20-Poly1305(auth key, sig ‖ pk)`. */
export function createAuth(
  role: HandshakeRole,
  identity: Identity,
  networkKey: Uint8Array,
  peerEphemeral: Uint8Array,
  keys: AuthKeys,
): Uint8Array {
  const authKey = role === 'client' ? keys.clientAuthKey : keys.serverAuthKey
  return encode(
    authMessage,
    sealAuth(identity, authSignedData(networkKey, peerEphemeral, keys.abHash), authKey),
  )
}

/** The auth length prefix, checked against 4096 before the body is read (§3.2.1). */
export function checkAuthLength(prefix: Uint8Array, from: HandshakeRole): number {
  if (prefix.length !== 4)
    throw new RangeError(`auth prefix: expected 4 bytes, got ${prefix.length}`)
  const length = readUint32be(prefix, 0)
  if (length > HANDSHAKE_AUTH_MAX) {
    const cause = `length prefix ${length} exceeds ${HANDSHAKE_AUTH_MAX}; not an egregore peer`
    throw handshakeError('HANDSHAKE_FAILED', from === 'client' ? 3 : 4, 'auth too large', cause)
  }
  return length
}

/** Open the peer's auth body; the checks of §3.2.1 in order. Returns the peer's Ed25519 key. */
export function openAuth(
  from: HandshakeRole,
  body: Uint8Array,
  networkKey: Uint8Array,
  ownEphemeral: EphemeralKeyPair,
  keys: AuthKeys,
): Uint8Array {
  const step = from === 'client' ? 3 : 4
  const plaintext = openAuthBox(body, from === 'client' ? keys.clientAuthKey : keys.serverAuthKey)
  if (plaintext === null) {
    const cause = `the ${from}'s auth did not decrypt; an incompatible (REF-era) peer or a corrupted stream`
    throw handshakeError('HANDSHAKE_FAILED', step, 'decryption failed', cause)
  }
  if (plaintext.length !== HANDSHAKE_AUTH_PLAINTEXT_BYTES) {
    const cause = `expected ${HANDSHAKE_AUTH_PLAINTEXT_BYTES} bytes, got ${plaintext.length}; an incompatible peer`
    throw handshakeError('HANDSHAKE_FAILED', step, 'invalid auth payload length', cause)
  }
  const signature = plaintext.subarray(0, 64)
  const publicKey = plaintext.slice(64, 96)
  // The §2.2 key check, cached: peers reconnect with the same identity, and the point check costs
  // about as much as the signature verification itself.
  if (!isValidFeedIdKey(feedIdFromBytes(publicKey))) {
    const cause = 'the claimed identity is not a valid Ed25519 point'
    throw handshakeError('HANDSHAKE_FAILED', step, `invalid ${from} public key`, cause)
  }
  if (
    !verify(publicKey, authSignedData(networkKey, ownEphemeral.publicKey, keys.abHash), signature)
  ) {
    const cause = 'the peer does not hold the secret key of the identity it claims'
    throw handshakeError('HANDSHAKE_FAILED', step, `${from} signature verification failed`, cause)
  }
  return publicKey
}

type Phase = 'write-hello' | 'read-hello' | 'write-auth' | 'read-auth-length' | 'read-auth' | 'done'

const PHASES: Record<HandshakeRole, readonly Phase[]> = {
  client: ['write-hello', 'read-hello', 'write-auth', 'read-auth-length', 'read-auth', 'done'],
  server: ['read-hello', 'write-hello', 'read-auth-length', 'read-auth', 'write-auth', 'done'],
}

/** A handshake state machine for one connection (§3.2). */
export function createHandshake(options: HandshakeOptions): Handshake {
  const { role, identity, networkKey } = options
  if (networkKey.length !== 32)
    throw new RangeError(`networkKey: expected 32 bytes, got ${networkKey.length}`)
  const peer = other(role)
  const ephemeral = createEphemeralKeyPair(options.ephemeralSecret)
  const phases = PHASES[role]
  let index = 0
  let failure: Error | null = null
  let peerEphemeral: Uint8Array = new Uint8Array(0)
  let keys: AuthKeys | null = null
  let authLength = 0
  let remotePublicKey: Uint8Array | null = null
  let ab: Uint8Array = new Uint8Array(0)
  let done: HandshakeAction | null = null

  const phase = (): Phase => phases[index] ?? 'done'
  const mustKeys = (): AuthKeys => {
    if (keys === null) throw new Error('handshake: auth keys used before the hello exchange')
    return keys
  }

  function result(): HandshakeResult {
    if (remotePublicKey === null) throw new Error('handshake: result before the peer authenticated')
    const [ec, es] =
      role === 'client'
        ? [ephemeral.publicKey, peerEphemeral]
        : [peerEphemeral, ephemeral.publicKey]
    const s = deriveSessionKeys(networkKey, ab, ec, es)
    const [encrypt, decrypt] =
      role === 'client'
        ? [s.clientToServer, s.serverToClient]
        : [s.serverToClient, s.clientToServer]
    return { role, remotePublicKey, remoteId: feedIdFromBytes(remotePublicKey), encrypt, decrypt }
  }

  /** The current action, without side effects. */
  function action(): HandshakeAction {
    const helloStep = role === 'client' ? 1 : 2
    const authStep = role === 'client' ? 3 : 4
    switch (phase()) {
      case 'write-hello':
        return { type: 'write', step: helloStep, bytes: createHello(networkKey, ephemeral) }
      case 'write-auth':
        return {
          type: 'write',
          step: authStep,
          bytes: createAuth(role, identity, networkKey, peerEphemeral, mustKeys()),
        }
      case 'read-hello':
        return {
          type: 'read',
          step: 3 - helloStep,
          length: HANDSHAKE_HELLO_BYTES,
          what: `${peer} hello`,
        }
      case 'read-auth-length':
        return { type: 'read', step: 7 - authStep, length: 4, what: `${peer} auth length` }
      case 'read-auth':
        return { type: 'read', step: 7 - authStep, length: authLength, what: `${peer} auth` }
      case 'done':
        done ??= { type: 'done', result: result() }
        return done
    }
  }

  function next(): HandshakeAction {
    if (failure !== null) throw failure
    const a = action()
    if (a.type === 'write') index++
    return a
  }

  function receiveUnchecked(bytes: Uint8Array): void {
    if (failure !== null) throw failure
    const p = phase()
    const want = action()
    if (want.type !== 'read')
      throw new Error(`handshake: receive() while the machine wants to ${want.type}`)
    if (bytes.length !== want.length)
      throw new RangeError(`${want.what}: expected ${want.length} bytes, got ${bytes.length}`)
    if (p === 'read-hello') {
      peerEphemeral = verifyHello(networkKey, bytes, peer)
      ab = computeSharedSecret(ephemeral, peerEphemeral, want.step)
      keys = deriveAuthKeys(networkKey, ab)
    } else if (p === 'read-auth-length') {
      authLength = checkAuthLength(bytes, peer)
    } else {
      remotePublicKey = openAuth(peer, bytes, networkKey, ephemeral, mustKeys())
    }
    index++
  }

  return {
    role,
    ephemeralPublicKey: ephemeral.publicKey,
    next,
    receive(bytes) {
      try {
        receiveUnchecked(bytes)
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err))
        throw failure
      }
    },
  }
}
