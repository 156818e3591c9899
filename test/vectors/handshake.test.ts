/**
 * handshake.json (PROTOCOL.md §3.2, §3.3): every value and wire message for fixed ephemeral keys,
 * the state machines run end to end against them, session keys, and the rejection cases.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { toHex } from '../../src/codec/index.js'
import {
  authMessage,
  authSignedData,
  checkAuthLength,
  createEphemeralKeyPair,
  createHandshake,
  deriveAuthKeys,
  deriveNetworkKey,
  deriveSessionKeys,
  encode,
  helloHmac,
  identityFromSeed,
  openAuth,
  openAuthBox,
  sealAuth,
  sha256,
  sharedSecret,
  sign,
  verifyHello,
  type Handshake,
  type HandshakeResult,
} from '../../src/crypto/index.js'
import {
  egregoreError,
  hasKeys,
  hex,
  loadVectors,
  str,
  type Fields,
  type VectorEntry,
  checkEveryEntry,
} from '../helpers/vectors.js'

const entries = loadVectors(new URL('./handshake.json', import.meta.url))
const shared = entries[0]!.expected
const side = (name: 'client' | 'server'): Fields => shared[name] as Fields
const K = hex(shared, 'network_key_hex')
const client = identityFromSeed(hex(side('client'), 'identity_seed_hex'))
const server = identityFromSeed(hex(side('server'), 'identity_seed_hex'))
const clientEphSecret = hex(side('client'), 'ephemeral_secret_hex')
const serverEphSecret = hex(side('server'), 'ephemeral_secret_hex')

/** The expected fields of the entry whose description starts with `prefix`. */
function expectedOf(prefix: string): Fields {
  const e = entries.find((x) => x.description.startsWith(prefix))
  assert.ok(e !== undefined, `no entry starting with '${prefix}'`)
  return e.expected
}

function machine(role: 'client' | 'server', networkKey = K): Handshake {
  const identity = role === 'client' ? client : server
  const ephemeralSecret = role === 'client' ? clientEphSecret : serverEphSecret
  return createHandshake({ role, identity, networkKey, ephemeralSecret })
}

/** Pass one side's bytes to the other until both are done; returns the wire messages in order. */
function runPair(): { wire: Uint8Array[]; client: HandshakeResult; server: HandshakeResult } {
  const machines = { client: machine('client'), server: machine('server') }
  const results: Partial<Record<'client' | 'server', HandshakeResult>> = {}
  const wire: Uint8Array[] = []
  const inbox: Record<'client' | 'server', number[]> = { client: [], server: [] }
  for (let guard = 0; guard < 20 && (!results.client || !results.server); guard++) {
    for (const role of ['client', 'server'] as const) {
      const a = machines[role].next() // a write action is returned once: it counts as sent
      if (a.type === 'done') results[role] = a.result
      else if (a.type === 'write') {
        wire.push(a.bytes)
        inbox[role === 'client' ? 'server' : 'client'].push(...a.bytes)
      } else if (inbox[role].length >= a.length) {
        machines[role].receive(Uint8Array.from(inbox[role].splice(0, a.length)))
      }
    }
  }
  assert.ok(results.client && results.server, 'handshake did not finish')
  return { wire, client: results.client, server: results.server }
}

function assertFails(
  fn: () => void,
  code: 'HANDSHAKE_FAILED' | 'NETWORK_KEY_MISMATCH',
  text: string,
): void {
  assert.throws(fn, (err: unknown) => {
    egregoreError(code)(err)
    assert.match((err as Error).message, new RegExp(`^handshake: ${text} \\(step \\d\\); `))
    return true
  })
}

/** A server machine that has accepted the client hello of the vectors. */
function serverAfterHello(): Handshake {
  const s = machine('server')
  s.receive(hex(expectedOf('Step 1'), 'wire_hex'))
  assert.equal(s.next().type, 'write')
  return s
}

function inputsTests(e: VectorEntry): void {
  test('network key, identities and the full exchange of both state machines', () => {
    assert.equal(toHex(deriveNetworkKey(str(e.expected, 'network_key_string'))), toHex(K))
    assert.equal(client.id, str(side('client'), 'public_id'))
    assert.equal(server.id, str(side('server'), 'public_id'))
    assert.equal(toHex(client.publicKey), str(side('client'), 'ed25519_public_hex'))
    assert.equal(toHex(server.publicKey), str(side('server'), 'ed25519_public_hex'))
    const run = runPair()
    const steps = ['Step 1', 'Step 2', 'Step 3', 'Step 4'].map((p) =>
      str(expectedOf(p), 'wire_hex'),
    )
    assert.deepEqual(run.wire.map(toHex), steps)
    assert.equal(run.client.remoteId, server.id)
    assert.equal(run.server.remoteId, client.id)
    const keys = expectedOf('Session keys')
    assert.equal(toHex(run.client.encrypt.key), str(keys, 'c2s_key_hex'))
    assert.equal(toHex(run.client.encrypt.nonce), str(keys, 'c2s_nonce_hex'))
    assert.equal(toHex(run.client.decrypt.key), str(keys, 's2c_key_hex'))
    assert.equal(toHex(run.client.decrypt.nonce), str(keys, 's2c_nonce_hex'))
    assert.deepEqual(run.server.encrypt, run.client.decrypt)
    assert.deepEqual(run.server.decrypt, run.client.encrypt)
  })
}

function ephemeralTests(e: VectorEntry): void {
  test('X25519 public keys of the fixed ephemeral secrets', () => {
    const c = createEphemeralKeyPair(hex(e.input, 'client_ephemeral_secret_hex'))
    const s = createEphemeralKeyPair(hex(e.input, 'server_ephemeral_secret_hex'))
    assert.equal(toHex(c.publicKey), str(e.expected, 'client_ephemeral_public_hex'))
    assert.equal(toHex(s.publicKey), str(e.expected, 'server_ephemeral_public_hex'))
  })
}

function helloTests(e: VectorEntry): void {
  const from = e.description.startsWith('Step 1') ? 'client' : 'server'
  test(`${from} hello: E ‖ HMAC-SHA256(K, E), accepted by the peer`, () => {
    const eph = hex(e.input, `${from}_ephemeral_public_hex`)
    assert.equal(
      toHex(helloHmac(hex(e.input, 'network_key_hex'), eph)),
      str(e.expected, 'hmac_hex'),
    )
    const m = machine(from)
    if (from === 'server') m.receive(hex(expectedOf('Step 1'), 'wire_hex')) // step 2 answers step 1
    const a = m.next()
    assert.ok(a.type === 'write' && a.step === (from === 'client' ? 1 : 2))
    assert.equal(toHex(a.bytes), str(e.expected, 'wire_hex'))
    assert.equal(toHex(verifyHello(K, a.bytes, from)), toHex(eph))
  })
}

function sharedSecretTests(e: VectorEntry): void {
  test('ab from both sides, B and the two auth keys', () => {
    const x = e.expected
    const ab = sharedSecret(
      hex(e.input, 'client_ephemeral_secret_hex'),
      hex(e.input, 'server_ephemeral_public_hex'),
    )
    assert.ok(ab !== null)
    assert.equal(toHex(ab), str(x, 'shared_ab_hex'))
    const clientPublic = createEphemeralKeyPair(clientEphSecret).publicKey
    assert.equal(toHex(sharedSecret(serverEphSecret, clientPublic)!), str(x, 'shared_ab_hex'))
    const keys = deriveAuthKeys(hex(e.input, 'network_key_hex'), ab)
    assert.equal(toHex(keys.abHash), str(x, 'sha256_ab_hex'))
    assert.equal(toHex(keys.b), str(x, 'B_hex'))
    assert.equal(toHex(keys.clientAuthKey), str(x, 'client_auth_key_hex'))
    assert.equal(toHex(keys.serverAuthKey), str(x, 'server_auth_key_hex'))
  })
}

function authTests(e: VectorEntry): void {
  const from = e.description.startsWith('Step 3') ? 'client' : 'server'
  const to = from === 'client' ? 'server' : 'client'
  test(`${from} auth: signed data, signature, box and wire; the ${to} opens it`, () => {
    const { input, expected: x } = e
    const identity = identityFromSeed(hex(input, `${from}_identity_seed_hex`))
    const signed = authSignedData(
      hex(input, 'network_key_hex'),
      hex(input, `${to}_ephemeral_public_hex`),
      hex(input, 'sha256_ab_hex'),
    )
    assert.equal(toHex(signed), str(x, 'signed_data_hex'))
    assert.equal(toHex(sign(identity, signed)), str(x, 'signature_hex'))
    const authKey = hex(input, `${from}_auth_key_hex`)
    const ct = sealAuth(identity, signed, authKey)
    assert.equal(toHex(ct), str(x, 'ciphertext_hex'))
    assert.equal(toHex(openAuthBox(ct, authKey)!), str(x, 'plaintext_hex'))
    assert.equal(toHex(encode(authMessage, ct)), str(x, 'wire_hex'))
    const ab = hex(expectedOf('Shared secret'), 'shared_ab_hex')
    const own = createEphemeralKeyPair(to === 'server' ? serverEphSecret : clientEphSecret)
    const pk = openAuth(from, ct, K, own, deriveAuthKeys(K, ab))
    assert.equal(toHex(pk), toHex(identity.publicKey))
  })
}

function sessionKeyTests(e: VectorEntry): void {
  test('c2s/s2c keys and initial nonces; who encrypts with which', () => {
    const { input, expected: x } = e
    const s = deriveSessionKeys(
      hex(input, 'network_key_hex'),
      hex(input, 'shared_ab_hex'),
      hex(input, 'client_ephemeral_public_hex'),
      hex(input, 'server_ephemeral_public_hex'),
    )
    assert.equal(toHex(s.clientToServer.key), str(x, 'c2s_key_hex'))
    assert.equal(toHex(s.clientToServer.nonce), str(x, 'c2s_nonce_hex'))
    assert.equal(toHex(s.serverToClient.key), str(x, 's2c_key_hex'))
    assert.equal(toHex(s.serverToClient.nonce), str(x, 's2c_nonce_hex'))
    assert.equal(
      toHex(sha256(hex(input, 'client_ephemeral_public_hex')).subarray(0, 24)),
      str(x, 'c2s_nonce_hex'),
    )
    const run = runPair()
    const named = {
      'c2s_key / c2s_nonce': s.clientToServer,
      's2c_key / s2c_nonce': s.serverToClient,
    }
    const pick = (k: string): unknown => named[str(x, k) as keyof typeof named]
    assert.deepEqual(run.client.encrypt, pick('client_encrypts_with'))
    assert.deepEqual(run.client.decrypt, pick('client_decrypts_with'))
    assert.deepEqual(run.server.encrypt, pick('server_encrypts_with'))
    assert.deepEqual(run.server.decrypt, pick('server_decrypts_with'))
  })
}

/** Feed a step-3 wire message (prefix ‖ body) to a server past step 2. */
function serverReceivesAuth(wire: Uint8Array): Handshake {
  const s = serverAfterHello()
  s.receive(wire.subarray(0, 4))
  s.receive(wire.subarray(4))
  return s
}

function refEraTests(e: VectorEntry): void {
  test('the server fails with a decryption error and has nothing to send', () => {
    const wire = hex(e.input, 'wire_hex')
    assert.equal(openAuthBox(wire.subarray(4), hex(e.input, 'client_auth_key_hex')), null)
    let s: Handshake | undefined
    assertFails(() => (s = serverReceivesAuth(wire)), 'HANDSHAKE_FAILED', str(e.expected, 'error'))
    const again = serverAfterHello()
    again.receive(wire.subarray(0, 4))
    assert.throws(() => again.receive(wire.subarray(4)))
    assert.throws(() => again.next(), /decryption failed/) // dead machine: no step 4 is ever produced
    assert.equal(s, undefined)
  })
}

function directionalTests(e: VectorEntry): void {
  test('the client rejects its own step-3 box as the server auth (step 4)', () => {
    assert.equal(openAuthBox(hex(e.input, 'ciphertext_hex'), hex(e.input, 'key_hex')), null)
    const c = machine('client')
    c.next()
    c.receive(hex(expectedOf('Step 2'), 'wire_hex'))
    const step3 = c.next()
    assert.ok(step3.type === 'write')
    c.receive(step3.bytes.subarray(0, 4))
    assertFails(
      () => c.receive(hex(e.input, 'ciphertext_hex')),
      'HANDSHAKE_FAILED',
      str(e.expected, 'error'),
    )
  })
}

function networkKeyTests(e: VectorEntry): void {
  test('the server fails the client hello HMAC and names the network key', () => {
    const k2 = deriveNetworkKey(str(e.input, 'server_network_key_string'))
    assert.equal(toHex(k2), str(e.input, 'server_network_key_hex'))
    const wire = hex(e.input, 'wire_hex')
    assert.equal(
      toHex(helloHmac(k2, wire.subarray(0, 32))),
      str(e.expected, 'expected_hmac_under_server_key_hex'),
    )
    const s = machine('server', k2)
    assertFails(() => s.receive(wire), 'NETWORK_KEY_MISMATCH', str(e.expected, 'error'))
    assert.throws(() => s.receive(wire), /network-key/)
  })
}

function lowOrderTests(e: VectorEntry): void {
  test('the hello passes its HMAC but ab is all zero: the client aborts', () => {
    const wire = hex(e.input, 'server_hello_wire_hex')
    verifyHello(K, wire, 'server') // the HMAC itself is valid
    assert.equal(str(e.expected, 'shared_ab_hex'), '00'.repeat(32))
    assert.equal(
      sharedSecret(hex(e.input, 'client_ephemeral_secret_hex'), wire.subarray(0, 32)),
      null,
    )
    const c = machine('client')
    c.next()
    assertFails(() => c.receive(wire), 'HANDSHAKE_FAILED', str(e.expected, 'error'))
  })
}

function payloadLengthTests(e: VectorEntry): void {
  test('a 97-byte auth plaintext is rejected after decryption', () => {
    const wire = hex(e.input, 'wire_hex')
    const ab = hex(expectedOf('Shared secret'), 'shared_ab_hex')
    assert.equal(toHex(deriveAuthKeys(K, ab).clientAuthKey), str(e.input, 'client_auth_key_hex'))
    assert.equal(openAuthBox(wire.subarray(4), hex(e.input, 'client_auth_key_hex'))?.length, 97)
    assertFails(() => serverReceivesAuth(wire), 'HANDSHAKE_FAILED', str(e.expected, 'error'))
  })
}

function oversizeTests(e: VectorEntry): void {
  test('a prefix above 4096 is rejected before any body is read', () => {
    const prefix = hex(e.input, 'length_prefix_hex')
    assertFails(
      () => checkAuthLength(prefix, 'client'),
      'HANDSHAKE_FAILED',
      str(e.expected, 'error'),
    )
    const s = serverAfterHello()
    assertFails(() => s.receive(prefix), 'HANDSHAKE_FAILED', str(e.expected, 'error'))
    const c = machine('client')
    c.next()
    c.receive(hex(expectedOf('Step 2'), 'wire_hex'))
    c.next()
    assertFails(() => c.receive(prefix), 'HANDSHAKE_FAILED', str(e.expected, 'error'))
  })
}

/** Choose the checks of an entry from its description and the keys of its input. */
function dispatch(e: VectorEntry): ((e: VectorEntry) => void) | null {
  const { input, description: d } = e
  if (hasKeys(input, [])) return inputsTests
  if (d.startsWith('Ephemeral X25519')) return ephemeralTests
  if (d.startsWith('Step 1') || d.startsWith('Step 2')) return helloTests
  if (d.startsWith('Shared secret')) return sharedSecretTests
  if (d.startsWith('Step 3') || d.startsWith('Step 4')) return authTests
  if (d.startsWith('Session keys')) return sessionKeyTests
  if (hasKeys(input, ['wire_hex', 'client_auth_key_hex']) && d.includes('early protocol'))
    return refEraTests
  if (hasKeys(input, ['ciphertext_hex', 'key_hex'])) return directionalTests
  if (hasKeys(input, ['wire_hex', 'server_network_key_string', 'server_network_key_hex']))
    return networkKeyTests
  if (hasKeys(input, ['server_hello_wire_hex', 'client_ephemeral_secret_hex'])) return lowOrderTests
  if (hasKeys(input, ['wire_hex', 'client_auth_key_hex'])) return payloadLengthTests
  if (hasKeys(input, ['length_prefix_hex'])) return oversizeTests
  return null
}

checkEveryEntry('handshake.json', entries, dispatch, describe, test)

test('handshake.json has the 14 entries its README lists', () => {
  assert.equal(entries.length, 14)
})
