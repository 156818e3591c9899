/**
 * LAN announcement codec (PROTOCOL.md §8.1, §8.3 steps 1–3) beyond discovery.json: field types
 * as HEAD's serde reads them, the order of the checks, port bounds, the 1024-byte truncation,
 * IPv6 candidates, argument errors, and hostile input (never a throw).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { LAN_RECEIVE_BUFFER_BYTES, utf8 } from '../../../src/codec/index.js'
import { deriveNetworkKey, lanDiscriminator } from '../../../src/crypto/index.js'
import {
  encodeAnnouncement,
  parseAnnouncement,
  toCandidateAddress,
  type AnnouncementDecision,
} from '../../../src/replication/index.js'
import { assertProperty } from '../../helpers/json-arbitraries.js'

const A = '@A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=.ed25519'
const B = '@Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=.ed25519'
const NET = lanDiscriminator(deriveNetworkKey('egregore-network-v1'))
const OTHER_NET = lanDiscriminator(deriveNetworkKey('my-private-network'))
const MAGIC = '[69,71,82,69]'
const HASH = '[178,136,85,247,176,49,117,41]'

/** A datagram text with these raw JSON values (defaults: a valid announcement from A). */
function datagram(fields: Partial<Record<'magic' | 'hash' | 'port' | 'id', string>> = {}): string {
  const { magic = MAGIC, hash = HASH, port = '7655', id = JSON.stringify(A) } = fields
  return `{"magic":${magic},"network_key_hash":${hash},"gossip_port":${port},"public_id":${id}}`
}

/** The decision of B's node (default network) on this datagram. */
function decide(text: string | Uint8Array): AnnouncementDecision {
  return parseAnnouncement(typeof text === 'string' ? utf8(text) : text, {
    ourDiscriminator: NET,
    ourId: B,
  })
}

const accepted = (gossipPort = 7655, publicId = A): AnnouncementDecision => ({
  accept: true,
  announcement: { gossipPort, publicId },
})
const ignored = (reason: string): unknown => ({ accept: false, reason })

describe('encodeAnnouncement', () => {
  test('writes compact JSON with the keys in protocol order', () => {
    const bytes = encodeAnnouncement({ networkKeyHash: OTHER_NET, gossipPort: 1024, publicId: B })
    assert.equal(
      new TextDecoder().decode(bytes),
      `{"magic":[69,71,82,69],"network_key_hash":[191,53,87,121,82,11,171,58],"gossip_port":1024,"public_id":"${B}"}`,
    )
  })

  test('what it writes, another node on the network accepts as written', () => {
    for (const port of [1024, 7655, 65535]) {
      const bytes = encodeAnnouncement({ networkKeyHash: NET, gossipPort: port, publicId: A })
      assert.deepEqual(decide(bytes), accepted(port))
    }
  })

  test('rejects a discriminator that is not 8 bytes and ports outside 1–65535', () => {
    const ok = { networkKeyHash: NET, gossipPort: 7655, publicId: A }
    assert.throws(() => encodeAnnouncement({ ...ok, networkKeyHash: NET.slice(0, 7) }), RangeError)
    assert.throws(() => encodeAnnouncement({ ...ok, networkKeyHash: deriveNetworkKey('x') }), {
      name: 'RangeError',
      message: /expected 8 bytes, got 32/,
    })
    for (const gossipPort of [0, -1, 65536, 7655.5, Number.NaN]) {
      assert.throws(() => encodeAnnouncement({ ...ok, gossipPort }), RangeError, String(gossipPort))
    }
  })
})

describe('parseAnnouncement: field types (as HEAD deserializes them)', () => {
  test('keys in any order and unknown extra keys are accepted', () => {
    assert.deepEqual(decide(datagram().replace('{', '{"version":2,"x":[null],')), accepted())
  })

  const unparseable: [string, string][] = [
    ['magic with a float element', datagram({ magic: '[69.0,71,82,69]' })],
    ['magic of 5 elements', datagram({ magic: '[69,71,82,69,0]' })],
    ['magic as a string', datagram({ magic: '"EGRE"' })],
    ['network_key_hash of 7 elements', datagram({ hash: '[178,136,85,247,176,49,117]' })],
    ['network_key_hash element above 255', datagram({ hash: '[434,136,85,247,176,49,117,41]' })],
    ['network_key_hash element below 0', datagram({ hash: '[-78,136,85,247,176,49,117,41]' })],
    ['gossip_port as a string', datagram({ port: '"7655"' })],
    ['gossip_port as a float', datagram({ port: '7655.0' })],
    ['gossip_port above 65535', datagram({ port: '65536' })],
    ['gossip_port negative', datagram({ port: '-1' })],
    ['gossip_port null', datagram({ port: 'null' })],
    ['public_id as a number', datagram({ id: '1' })],
    ['public_id missing', `{"magic":${MAGIC},"network_key_hash":${HASH},"gossip_port":7655}`],
    ['a JSON array', `[${datagram()}]`],
    ['a JSON string', JSON.stringify(datagram())],
    ['trailing garbage', `${datagram()}x`],
    ['empty', ''],
  ]
  for (const [what, text] of unparseable) {
    test(`ignores ${what} as unparseable`, () => {
      assert.deepEqual(decide(text), ignored('unparseable'))
    })
  }

  test('ignores bytes that are not UTF-8 as unparseable', () => {
    const bytes = utf8(datagram({ id: '"\u00e9"' }))
    const invalid = Uint8Array.from(bytes.map((b) => (b === 0xc3 ? 0xff : b)))
    assert.deepEqual(decide(invalid), ignored('unparseable'))
  })

  test('public_id is only required to be a string: the verification dial checks it', () => {
    assert.deepEqual(decide(datagram({ id: '"not an id"' })), accepted(7655, 'not an id'))
  })
})

describe('parseAnnouncement: checks in the order of §8.3 step 2', () => {
  test('magic before network, network before self, self before port', () => {
    const badBoth = datagram({ magic: '[0,0,0,0]', hash: '[0,0,0,0,0,0,0,0]' })
    assert.deepEqual(decide(badBoth), ignored('magic mismatch'))
    const otherNetFromSelf = datagram({ hash: '[0,0,0,0,0,0,0,0]', id: JSON.stringify(B) })
    assert.deepEqual(decide(otherNetFromSelf), ignored('network mismatch'))
    assert.deepEqual(decide(datagram({ port: '80', id: JSON.stringify(B) })), ignored('self'))
  })

  test('gossip_port 1023 is ignored, 1024 and 65535 accepted, 0 ignored', () => {
    assert.deepEqual(decide(datagram({ port: '1023' })), ignored('port below 1024'))
    assert.deepEqual(decide(datagram({ port: '0' })), ignored('port below 1024'))
    assert.deepEqual(decide(datagram({ port: '1024' })), accepted(1024))
    assert.deepEqual(decide(datagram({ port: '65535' })), accepted(65535))
  })
})

describe('parseAnnouncement: the 1024-byte receive buffer (§8.3 step 1)', () => {
  test('a datagram of exactly 1024 bytes is read whole', () => {
    const base = datagram()
    const padded = base.replace('{', `{"pad":"${'p'.repeat(1024 - base.length - 9)}",`)
    assert.equal(utf8(padded).length, LAN_RECEIVE_BUFFER_BYTES)
    assert.deepEqual(decide(padded), accepted())
  })

  test('a longer one is truncated, so a complete document cut short is unparseable', () => {
    const base = datagram()
    const long = base.replace('{', `{"pad":"${'p'.repeat(1025 - base.length - 9)}",`)
    assert.equal(utf8(long).length, LAN_RECEIVE_BUFFER_BYTES + 1)
    assert.deepEqual(decide(long), ignored('unparseable'))
  })

  test('truncation, not rejection: what follows byte 1024 is never read', () => {
    // Valid JSON within the first 1024 bytes, then anything: HEAD reads only the first part.
    const text = datagram().padEnd(LAN_RECEIVE_BUFFER_BYTES, ' ') + 'garbage'.repeat(100)
    assert.deepEqual(decide(text), accepted())
  })
})

describe('toCandidateAddress (§8.3 step 3)', () => {
  test('IPv4 source with the announced port; IPv6 sources in brackets', () => {
    assert.equal(toCandidateAddress('192.168.1.20', 7655), '192.168.1.20:7655')
    assert.equal(toCandidateAddress('fe80::1', 7655), '[fe80::1]:7655')
    assert.equal(toCandidateAddress('::ffff:10.0.0.2', 1024), '[::ffff:10.0.0.2]:1024')
  })
})

describe('parseAnnouncement: hostile input', () => {
  test('arbitrary bytes and mutated datagrams give a decision, never a throw', () => {
    const valid = utf8(datagram())
    const mutated = fc
      .tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }))
      .map(([i, b]) => Uint8Array.from(valid, (x, j) => (j === i ? b : x)))
    const anything = fc.oneof(fc.uint8Array({ maxLength: 2048 }), mutated)
    assertProperty(
      fc.property(anything, (bytes) => {
        const d = decide(bytes)
        assert.equal(typeof d.accept, 'boolean')
      }),
      500,
    )
  })
})
