/**
 * Private box (PROTOCOL.md §3.7): random round trips for 1, 2 and 255 recipients, outsiders and
 * wrong senders get null, malformed boxes and arguments fail as specified.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EgregoreError } from '../../../src/errors.js'
import {
  identityFromSeed,
  openPrivateBox,
  openPrivateBoxDetailed,
  sealPrivateBox,
  toX25519PublicKey,
  type Identity,
} from '../../../src/crypto/index.js'

const people = Array.from({ length: 256 }, (_, i) => identityFromSeed(new Uint8Array(32).fill(i)))
const sender = people[0]!
const xpub = (id: Identity): Uint8Array => toX25519PublicKey(id.publicKey)!
const text = new TextEncoder().encode('meet at noon')

function decodeError(message: string): (err: unknown) => boolean {
  return (err) =>
    err instanceof EgregoreError && err.code === 'DECODE_ERROR' && err.message === message
}

describe('private box', () => {
  test('every recipient opens at its slot; an outsider and a wrong sender key get null', () => {
    for (const count of [1, 2, 255]) {
      const recipients = people.slice(1, 1 + count)
      const box = sealPrivateBox(sender, recipients.map(xpub), text)
      assert.equal(box.length, 13 + 48 * count + text.length + 16)
      for (const [slot, r] of [
        [0, recipients[0]!],
        [count - 1, recipients[count - 1]!],
      ] as const) {
        const opened = openPrivateBoxDetailed(r, xpub(sender), box)
        assert.equal(opened?.slot, slot)
        assert.deepEqual(opened.plaintext, text)
      }
      assert.deepEqual(openPrivateBox(people[255]!, xpub(sender), box), count === 255 ? text : null)
      assert.equal(openPrivateBox(recipients[0]!, xpub(people[200]!), box), null)
    }
  })

  test('random symmetric key and nonce: sealing twice gives different boxes', () => {
    const a = sealPrivateBox(sender, [xpub(people[1]!)], text)
    const b = sealPrivateBox(sender, [xpub(people[1]!)], text)
    assert.notDeepEqual(a, b)
  })

  test('malformed boxes: too short, truncated entries, corrupted body', () => {
    const box = sealPrivateBox(sender, [xpub(people[1]!), xpub(people[2]!)], text)
    const me = people[1]!
    assert.throws(
      () => openPrivateBox(me, xpub(sender), box.subarray(0, 12)),
      decodeError('ciphertext too short'),
    )
    assert.throws(
      () => openPrivateBox(me, xpub(sender), box.subarray(0, 13 + 48)),
      decodeError('ciphertext truncated'),
    )
    const bad = Uint8Array.from(box)
    bad[bad.length - 1]! ^= 1
    assert.throws(
      () => openPrivateBox(me, xpub(sender), bad),
      decodeError('body decryption failed'),
    )
    const noBody = box.subarray(0, 13 + 96) // entries intact, body missing entirely
    assert.throws(
      () => openPrivateBox(me, xpub(sender), noBody),
      decodeError('body decryption failed'),
    )
  })

  test('argument errors: recipient count, key sizes, low-order recipient key', () => {
    assert.throws(() => sealPrivateBox(sender, [], text), {
      name: 'RangeError',
      message: 'no recipients',
    })
    const many = people.map(xpub)
    assert.throws(() => sealPrivateBox(sender, many, text), {
      message: 'too many recipients (max 255)',
    })
    assert.throws(() => sealPrivateBox(sender, [new Uint8Array(31)], text), RangeError)
    assert.throws(() => sealPrivateBox(sender, [new Uint8Array(32)], text), /not a usable X25519/)
    assert.throws(
      () => sealPrivateBox(sender, [xpub(people[1]!)], text, { nonce: new Uint8Array(24) }),
      RangeError,
    )
    assert.equal(
      openPrivateBox(
        people[1]!,
        new Uint8Array(32),
        sealPrivateBox(sender, [xpub(people[1]!)], text),
      ),
      null,
    )
  })
})
