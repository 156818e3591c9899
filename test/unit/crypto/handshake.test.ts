/**
 * Handshake state machine (PROTOCOL.md §3.2.1): the check order and failure texts for forged
 * auth boxes, low-order keys from both sides, replayed client messages, and misuse of the machine.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EgregoreError, type ErrorCode } from '../../../src/errors.js'
import { fromBase64Canonical } from '../../../src/codec/index.js'
import {
  authMessage,
  authSignedData,
  createEphemeralKeyPair,
  createHandshake,
  deriveAuthKeys,
  deriveNetworkKey,
  encode,
  hello,
  helloHmac,
  identityFromSeed,
  sharedSecret,
  sign,
  type Handshake,
} from '../../../src/crypto/index.js'
import sodium from 'sodium-native'

const K = deriveNetworkKey('egregore-network-v1')
const alice = identityFromSeed(new Uint8Array(32).fill(1))
const bob = identityFromSeed(new Uint8Array(32).fill(2))
const cSecret = new Uint8Array(32).fill(0x41)

function fails(code: ErrorCode, text: string, step: number): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof EgregoreError, String(err))
    assert.equal(err.code, code)
    assert.ok(err.message.startsWith(`handshake: ${text} (step ${step}); `), err.message)
    return true
  }
}

/** Run two machines against each other; returns every message written, in order. */
function run(c: Handshake, s: Handshake): Uint8Array[] {
  const wire: Uint8Array[] = []
  const box: Record<'client' | 'server', number[]> = { client: [], server: [] }
  for (let round = 0; round < 10; round++) {
    for (const [m, peer] of [
      [c, 'server'],
      [s, 'client'],
    ] as const) {
      const a = m.next()
      if (a.type === 'write') {
        wire.push(a.bytes)
        box[peer].push(...a.bytes)
      } else if (a.type === 'read' && box[m.role].length >= a.length) {
        m.receive(Uint8Array.from(box[m.role].splice(0, a.length)))
      }
    }
  }
  return wire
}

/** A server past step 2 that accepted a client hello of `cSecret`; and what the client needs. */
function serverAwaitingAuth(): {
  server: Handshake
  serverEphemeral: Uint8Array
  authKey: Uint8Array
} {
  const server = createHandshake({ role: 'server', identity: bob, networkKey: K })
  const c = createHandshake({
    role: 'client',
    identity: alice,
    networkKey: K,
    ephemeralSecret: cSecret,
  })
  const h = c.next()
  assert.ok(h.type === 'write')
  server.receive(h.bytes)
  const reply = server.next()
  assert.ok(reply.type === 'write')
  const serverEphemeral = reply.bytes.slice(0, 32)
  const ab = sharedSecret(cSecret, serverEphemeral)
  assert.ok(ab !== null)
  return { server, serverEphemeral, authKey: deriveAuthKeys(K, ab).clientAuthKey }
}

/** Step-3 wire bytes with a chosen plaintext, boxed under the right key. */
function forgedAuth(authKey: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const ct = new Uint8Array(plaintext.length + 16)
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
    ct,
    plaintext,
    null,
    null,
    new Uint8Array(12),
    authKey,
  )
  return encode(authMessage, ct)
}

function deliverAuth(server: Handshake, wire: Uint8Array): void {
  server.receive(wire.subarray(0, 4))
  server.receive(wire.subarray(4))
}

describe('handshake state machine', () => {
  test('completes with random ephemerals and never produces the same messages twice', () => {
    const a = run(
      createHandshake({ role: 'client', identity: alice, networkKey: K }),
      createHandshake({ role: 'server', identity: bob, networkKey: K }),
    )
    const b = run(
      createHandshake({ role: 'client', identity: alice, networkKey: K }),
      createHandshake({ role: 'server', identity: bob, networkKey: K }),
    )
    assert.deepEqual(
      a.map((m) => m.length),
      [64, 64, 116, 116],
    )
    a.forEach((m, i) => assert.notDeepEqual(m, b[i]))
  })

  test('an auth box carrying an invalid point is "invalid client public key"', () => {
    const { server, authKey } = serverAwaitingAuth()
    const notAPoint = fromBase64Canonical('AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')
    assert.ok(notAPoint !== null)
    const pt = Uint8Array.from([...new Uint8Array(64), ...notAPoint])
    assert.throws(
      () => deliverAuth(server, forgedAuth(authKey, pt)),
      fails('HANDSHAKE_FAILED', 'invalid client public key', 3),
    )
  })

  test('a valid key with a signature over the wrong data is a signature failure', () => {
    const { server, authKey, serverEphemeral } = serverAwaitingAuth()
    const abHash = new Uint8Array(32) // wrong: the real SHA-256(ab) is something else
    const sig = sign(alice, authSignedData(K, serverEphemeral, abHash))
    const pt = Uint8Array.from([...sig, ...alice.publicKey])
    assert.throws(
      () => deliverAuth(server, forgedAuth(authKey, pt)),
      fails('HANDSHAKE_FAILED', 'client signature verification failed', 3),
    )
  })

  test('a replayed client hello and auth fail at step 3: the new server ephemeral differs', () => {
    const recorded = run(
      createHandshake({ role: 'client', identity: alice, networkKey: K }),
      createHandshake({ role: 'server', identity: bob, networkKey: K }),
    )
    const s = createHandshake({ role: 'server', identity: bob, networkKey: K })
    s.receive(recorded[0]!) // the hello's HMAC is still valid
    assert.equal(s.next().type, 'write')
    assert.throws(
      () => deliverAuth(s, recorded[2]!),
      fails('HANDSHAKE_FAILED', 'decryption failed', 3),
    )
  })

  test('low-order client ephemerals with a valid HMAC are refused at step 1', () => {
    const lowOrder = [
      '00',
      '01',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    ].map((h) => Uint8Array.from(Buffer.from(h.padEnd(64, '0'), 'hex')))
    for (const e of lowOrder) {
      const s = createHandshake({ role: 'server', identity: bob, networkKey: K })
      const bytes = encode(hello, { ephemeralPublic: e, hmac: helloHmac(K, e) })
      assert.throws(() => s.receive(bytes), fails('HANDSHAKE_FAILED', 'low-order ephemeral key', 1))
    }
  })

  test('a client on another network key fails the server hello HMAC at step 2', () => {
    const c = createHandshake({
      role: 'client',
      identity: alice,
      networkKey: deriveNetworkKey('other'),
    })
    c.next()
    const e = createEphemeralKeyPair().publicKey
    const bytes = encode(hello, { ephemeralPublic: e, hmac: helloHmac(K, e) })
    assert.throws(
      () => c.receive(bytes),
      fails('NETWORK_KEY_MISMATCH', 'server hello HMAC verification failed', 2),
    )
    assert.throws(() => c.next(), /network-key/) // the machine stays failed
  })

  test('misuse is a programming error: wrong length, receive while a write is due', () => {
    const c = createHandshake({ role: 'client', identity: alice, networkKey: K })
    assert.throws(() => c.receive(new Uint8Array(64)), /while the machine wants to write/)
    const s = createHandshake({ role: 'server', identity: bob, networkKey: K })
    assert.throws(() => s.receive(new Uint8Array(63)), RangeError)
    assert.throws(
      () => createHandshake({ role: 'server', identity: bob, networkKey: new Uint8Array(31) }),
      RangeError,
    )
    assert.throws(() => createEphemeralKeyPair(new Uint8Array(31)), RangeError)
  })
})
