/**
 * private-box.json (PROTOCOL.md §3.7): participants' keys, entry keys, boxes for one and two
 * recipients, opening as each recipient and an outsider, errors, and HEAD's private_box/v1 content.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  feedIdToBytes,
  fromPlainJson,
  toBase64,
  toHex,
  utf8,
  writeCanonical,
} from '../../src/codec/index.js'
import {
  identityFromSeed,
  openPrivateBox,
  openPrivateBoxDetailed,
  privateBoxEntryKey,
  sealPrivateBox,
  sha256,
  sharedSecret,
  toX25519PublicKey,
  toX25519SecretKey,
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

const entries = loadVectors(new URL('./private-box.json', import.meta.url))
const te = new TextDecoder()

function x25519Of(id: string): Uint8Array {
  const ed = feedIdToBytes(id.slice(0, 53))
  assert.ok(ed !== null, id)
  const x = toX25519PublicKey(ed)
  assert.ok(x !== null)
  return x
}

function participantTests(e: VectorEntry): void {
  test('seeds give the public IDs and X25519 keys', () => {
    for (const name of ['A', 'B', 'C', 'D']) {
      const p = e.expected[name] as Fields
      const id = identityFromSeed(hex(p, 'seed_hex'))
      assert.equal(id.id, str(p, 'public_id'))
      if ('x25519_secret_hex' in p)
        assert.equal(toHex(toX25519SecretKey(id)), str(p, 'x25519_secret_hex'))
      if ('x25519_public_hex' in p)
        assert.equal(toHex(x25519Of(id.id)), str(p, 'x25519_public_hex'))
    }
  })
}

function entryKeyTests(e: VectorEntry): void {
  test('X25519 shared secret and SHA-256 entry key, the same from both ends', () => {
    const secret = hex(e.input, 'sender_x25519_secret_hex')
    const pub = hex(e.input, 'recipient_x25519_public_hex')
    assert.equal(toHex(sharedSecret(secret, pub)!), str(e.expected, 'x25519_shared_hex'))
    assert.equal(
      toHex(sha256(hex(e.expected, 'x25519_shared_hex'))),
      str(e.expected, 'entry_key_hex'),
    )
    assert.equal(toHex(privateBoxEntryKey(secret, pub)), str(e.expected, 'entry_key_hex'))
  })
}

function sealTests(e: VectorEntry): void {
  test('box bytes, entries, body, base64 and length; every recipient opens it', () => {
    const { input, expected: x } = e
    const sender = identityFromSeed(hex(input, 'sender_seed_hex'))
    const recipients = (input['recipients_x25519_public_hex'] as string[]).map((h) =>
      hex({ h }, 'h'),
    )
    const plaintext = utf8(str(input, 'plaintext_utf8'))
    const box = sealPrivateBox(sender, recipients, plaintext, {
      symKey: hex(input, 'sym_key_hex'),
      nonce: hex(input, 'nonce_hex'),
    })
    assert.equal(toHex(box), str(x, 'box_hex'))
    assert.equal(toBase64(box), str(x, 'box_b64'))
    assert.equal(box.length, x['box_length'])
    const entryHex = (x['entries_hex'] as string[]).join('')
    assert.equal(toHex(box.subarray(13, 13 + 48 * recipients.length)), entryHex)
    assert.equal(toHex(box.subarray(13 + 48 * recipients.length)), str(x, 'body_hex'))
  })
}

function openTests(e: VectorEntry): void {
  const { input, expected: x } = e
  const recipient = identityFromSeed(hex(input, 'recipient_seed_hex'))
  const open = (): ReturnType<typeof openPrivateBoxDetailed> =>
    openPrivateBoxDetailed(recipient, hex(input, 'sender_x25519_public_hex'), hex(input, 'box_hex'))
  if ('error' in x) {
    test(`fails with '${str(x, 'error')}'`, () => {
      assert.throws(open, (err: unknown) => {
        egregoreError('DECODE_ERROR')(err)
        assert.equal((err as Error).message, str(x, 'error'))
        return true
      })
    })
  } else if ('result' in x) {
    test('not a recipient: null, not an error', () => {
      assert.equal(x['result'], null)
      assert.equal(open(), null)
      assert.equal(
        openPrivateBox(recipient, hex(input, 'sender_x25519_public_hex'), hex(input, 'box_hex')),
        null,
      )
    })
  } else {
    test(`opens at slot ${String(x['slot'])} with the symmetric key`, () => {
      const r = open()
      assert.ok(r !== null)
      assert.equal(r.slot, x['slot'])
      assert.equal(toHex(r.symKey), str(x, 'sym_key_hex'))
      assert.equal(te.decode(r.plaintext), str(x, 'plaintext_utf8'))
    })
  }
}

function recipientCountTests(e: VectorEntry): void {
  test('no recipients and more than 255 are errors', () => {
    const sender = identityFromSeed(new Uint8Array(32))
    const pk = x25519Of(sender.id)
    assert.deepEqual(e.input['recipients'], [])
    assert.throws(() => sealPrivateBox(sender, [], utf8('x')), {
      message: str(e.expected, 'error'),
    })
    const many = Array.from({ length: 256 }, () => pk)
    assert.throws(() => sealPrivateBox(sender, many, utf8('x')), {
      message: str(e.expected, 'error_over_255'),
    })
    assert.equal(sealPrivateBox(sender, many.slice(1), utf8('x'))[12], 255)
  })
}

function upstreamContentTests(e: VectorEntry): void {
  test('HEAD private_box/v1: sealed for the recipients plus the sender (last)', () => {
    const { input, expected: x } = e
    const sender = identityFromSeed(hex(input, 'sender_seed_hex'))
    const ids = input['recipients'] as string[]
    assert.ok(ids[ids.length - 1]!.startsWith(sender.id))
    const plaintext = utf8(str(input, 'plaintext_utf8'))
    const box = sealPrivateBox(sender, ids.map(x25519Of), plaintext, {
      symKey: hex(input, 'sym_key_hex'),
      nonce: hex(input, 'nonce_hex'),
    })
    assert.equal(toBase64(box), str(x, 'box_b64'))
    const content = {
      box: toBase64(box),
      inner_schema_id: 'message/v1',
      sender: sender.id,
      type: 'private_box',
    }
    assert.equal(writeCanonical(fromPlainJson(content)), str(x, 'content_canonical'))
    assert.equal(str(x, 'message_schema_id'), 'private_box/v1')
    const senderX = x25519Of(sender.id)
    const asSender = openPrivateBoxDetailed(sender, senderX, box)
    assert.equal(asSender?.slot, ids.length - 1)
    const b = identityFromSeed(hex(entries[0]!.expected['B'] as Fields, 'seed_hex'))
    assert.equal(
      te.decode(openPrivateBox(b, senderX, box) ?? undefined),
      str(input, 'plaintext_utf8'),
    )
  })
}

/** Choose the checks of an entry from the keys of its input. */
function dispatch(e: VectorEntry): ((e: VectorEntry) => void) | null {
  const { input } = e
  if (hasKeys(input, [])) return participantTests
  if (hasKeys(input, ['sender_x25519_secret_hex', 'recipient_x25519_public_hex']))
    return entryKeyTests
  if ('recipients_x25519_public_hex' in input) return sealTests
  if (hasKeys(input, ['recipient_seed_hex', 'sender_x25519_public_hex', 'box_hex']))
    return openTests
  if (hasKeys(input, ['recipients'])) return recipientCountTests
  if (
    hasKeys(input, ['sender_seed_hex', 'recipients', 'sym_key_hex', 'nonce_hex', 'plaintext_utf8'])
  ) {
    return upstreamContentTests
  }
  return null
}

checkEveryEntry('private-box.json', entries, dispatch, describe, test)

test('private-box.json has the 14 entries its README lists', () => {
  assert.equal(entries.length, 14)
})
