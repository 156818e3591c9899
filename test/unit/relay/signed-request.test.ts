/** Signed relay requests (PROTOCOL.md §9.4): texts, each check and its code, in check order. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { timestampFromMillis, toBase64, utf8 } from '../../../src/codec/index.js'
import { sign } from '../../../src/crypto/index.js'
import {
  checkSignedRequest,
  createSignedRequest,
  signedText,
  type SignedFields,
  type SignedRequestKind,
} from '../../../src/relay/index.js'
import { testIdentity } from '../../helpers/feeds.js'

const alice = testIdentity(0xa1)
const mallory = testIdentity(0x66)
const NOW = Date.UTC(2026, 1, 19, 20, 11, 44, 123)
const OFF_CURVE_ID = '@AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519'

/** Fields signed by `who` over the text of `kind` with `timestamp` exactly as given. */
function signed(kind: SignedRequestKind, timestamp: string, who = alice): SignedFields {
  const signature = toBase64(sign(who, utf8(signedText(kind, alice.id, timestamp))))
  return { publicId: alice.id, timestamp, signature }
}

const at = (offsetMs: number): string => timestampFromMillis(NOW + offsetMs)

function code(kind: SignedRequestKind, fields: SignedFields, nowMs = NOW): string {
  const r = checkSignedRequest(kind, fields, nowMs)
  return r.ok ? 'ok' : r.code
}

describe('signed texts (§9.4)', () => {
  it('are register:<id>:<ts> and <id>:<ts>, which cannot be confused', () => {
    const ts = '2026-02-19T20:11:44.123Z'
    assert.equal(signedText('register', alice.id, ts), `register:${alice.id}:${ts}`)
    assert.equal(signedText('settings', alice.id, ts), `${alice.id}:${ts}`)
    assert.ok(signedText('settings', alice.id, ts).startsWith('@'))
    // a signature for one route never passes the other
    assert.equal(code('settings', signed('register', at(0))), 'SIGNATURE_INVALID')
    assert.equal(code('register', signed('settings', at(0))), 'SIGNATURE_INVALID')
    assert.equal(code('register', signed('register', at(0))), 'ok')
    assert.equal(code('settings', signed('settings', at(0))), 'ok')
  })

  it('createSignedRequest produces fields that verify, with the canonical timestamp', () => {
    const body = createSignedRequest(alice, 'register', timestampFromMillis(NOW))
    assert.equal(body.public_id, alice.id)
    assert.equal(body.timestamp, '2026-02-19T20:11:44.123Z')
    const fields = {
      publicId: body.public_id,
      timestamp: body.timestamp,
      signature: body.signature,
    }
    assert.deepEqual(checkSignedRequest('register', fields, NOW), {
      ok: true,
      sortableTimestamp: '2026-02-19T20:11:44.123000000Z',
    })
  })
})

describe('checks in order (§9.4, §9.5)', () => {
  it('INVALID_PUBLIC_ID first: bad format or not a curve point, whatever else is wrong', () => {
    for (const publicId of ['', 'alice', '@not-a-key.ed25519', OFF_CURVE_ID, alice.id + ' ']) {
      assert.equal(
        code('register', { publicId, timestamp: 'x', signature: 'x' }),
        'INVALID_PUBLIC_ID',
        publicId,
      )
    }
  })

  it('INVALID_SIGNATURE next: not canonical base64 of exactly 64 bytes, even with a bad timestamp', () => {
    const good = signed('register', at(0)).signature
    const bad = [
      '',
      'x',
      good.slice(0, -4), // 61 bytes
      good + 'AAAA', // 67 bytes
      good.replace(/==$/, ''), // no padding
      good.replace(/\+/g, '-').replace(/\//g, '_'), // URL-safe alphabet
      ` ${good}`,
      toBase64(new Uint8Array(63)),
      good.slice(0, 85) + 'B==', // stray bits in the last character
    ]
    for (const signature of bad) {
      if (signature === good) continue
      assert.equal(
        code('register', { publicId: alice.id, timestamp: 'not a time', signature }),
        'INVALID_SIGNATURE',
        signature,
      )
    }
  })

  it('INVALID_TIMESTAMP for text that is not RFC 3339, before the signature is checked', () => {
    const sig = signed('register', at(0)).signature
    for (const timestamp of ['', 'yesterday', '2026-02-19', '2026-02-30T00:00:00Z', '1771531904']) {
      assert.equal(
        code('register', { publicId: alice.id, timestamp, signature: sig }),
        'INVALID_TIMESTAMP',
      )
    }
  })

  it('INVALID_TIMESTAMP more than 30 s ahead; STALE_REQUEST more than 300 s old; the edges pass', () => {
    assert.equal(code('register', signed('register', at(30_000))), 'ok')
    assert.equal(code('register', signed('register', at(30_001))), 'INVALID_TIMESTAMP')
    assert.equal(code('register', signed('register', at(-300_000))), 'ok')
    assert.equal(code('register', signed('register', at(-300_001))), 'STALE_REQUEST')
    assert.equal(code('settings', signed('settings', at(-3_600_000))), 'STALE_REQUEST')
  })

  it('STALE_REQUEST comes before SIGNATURE_INVALID', () => {
    const stale = signed('register', at(-400_000), mallory)
    assert.equal(code('register', stale), 'STALE_REQUEST')
  })

  it('SIGNATURE_INVALID for another key, or a text other than the one signed', () => {
    assert.equal(code('register', signed('register', at(0), mallory)), 'SIGNATURE_INVALID')
    const f = signed('register', at(0))
    assert.equal(code('register', { ...f, timestamp: at(1) }), 'SIGNATURE_INVALID')
  })

  it('verifies the timestamp exactly as sent, not its canonical form', () => {
    const sent = '2026-02-19T21:11:44.123+01:00' // = NOW
    const f = signed('settings', sent)
    assert.equal(code('settings', f), 'ok')
    // the same instant, signed in canonical form, does not match the text that was sent
    const canonical = signed('settings', '2026-02-19T20:11:44.123Z')
    assert.equal(code('settings', { ...canonical, timestamp: sent }), 'SIGNATURE_INVALID')
    const r = checkSignedRequest('settings', f, NOW)
    assert.equal(r.ok && r.sortableTimestamp, '2026-02-19T20:11:44.123000000Z')
  })
})
