/**
 * discovery.json (PROTOCOL.md §8): the announcement datagram (§8.1), the receive filter's
 * decisions and candidate address (§8.3 steps 1–3), and HEAD's mDNS advertisement (§8.5).
 *
 * The mDNS entry is informative: our node does not advertise over mDNS, so there is no production
 * code to test; `mdnsTests` recomputes the advertisement with the rules of §8.5 from the public ID,
 * the network key and the port, which checks the TXT `id` and `net` derivations against the vector.
 */
import assert from 'node:assert/strict'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { resolveDaemonConfig } from '../../src/cli/config.js'
import { toHex, utf8 } from '../../src/codec/index.js'
import { deriveNetworkKey, lanDiscriminator } from '../../src/crypto/index.js'
import {
  encodeAnnouncement,
  parseAnnouncement,
  toCandidateAddress,
} from '../../src/replication/index.js'
import {
  bool,
  checkEveryEntry,
  hasKeys,
  loadVectors,
  str,
  type Fields,
  type VectorEntry,
} from '../helpers/vectors.js'

const entries = loadVectors(new URL('./discovery.json', import.meta.url))
const decoder = new TextDecoder('utf-8', { fatal: true })

function int(fields: Fields, key: string): number {
  const v = fields[key]
  assert.ok(Number.isInteger(v), `field '${key}' should be an integer`)
  return v as number
}

/** `host:port` split at the last colon (the vectors' source addresses are IPv4). */
function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'))
}

/** Entry 0: the exact datagram for identity A, and where it is sent by default. */
function announcementTests(e: VectorEntry): void {
  const datagram = encodeAnnouncement({
    networkKeyHash: lanDiscriminator(deriveNetworkKey(str(e.input, 'network_key_string'))),
    gossipPort: int(e.input, 'gossip_port'),
    publicId: str(e.input, 'public_id'),
  })
  test('encodes the exact datagram bytes', () => {
    assert.equal(decoder.decode(datagram), str(e.expected, 'datagram_utf8'))
    assert.equal(datagram.length, int(e.expected, 'datagram_length'))
  })
  test('is sent to the destination the CLI defaults to with --lan-discovery', () => {
    const dataDir = join(tmpdir(), `egregore-absent-${process.pid}`) // no config.yaml there
    const { node } = resolveDaemonConfig({ 'data-dir': dataDir, 'lan-discovery': true }, {}, '0')
    const lan = node.gossip?.lanDiscovery
    assert.ok(lan !== undefined)
    assert.equal(`${lan.address}:${lan.port}`, str(e.expected, 'send_to'))
  })
  test('another node accepts it and reads back the port and identity', () => {
    const decision = parseAnnouncement(datagram, {
      ourDiscriminator: lanDiscriminator(deriveNetworkKey(str(e.input, 'network_key_string'))),
      ourId: '@Kay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc=.ed25519',
    })
    assert.deepEqual(decision, {
      accept: true,
      announcement: {
        gossipPort: int(e.input, 'gossip_port'),
        publicId: str(e.input, 'public_id'),
      },
    })
  })
}

/** Entries 1–8: the filter's decision, its reason, and the candidate address when accepted. */
function filterTests(e: VectorEntry): void {
  test(bool(e.expected, 'accept') ? 'accepts' : `ignores: ${str(e.expected, 'reason')}`, () => {
    const decision = parseAnnouncement(utf8(str(e.input, 'datagram_utf8')), {
      ourDiscriminator: lanDiscriminator(deriveNetworkKey(str(e.input, 'our_network_key_string'))),
      ourId: str(e.input, 'our_public_id'),
    })
    if (!bool(e.expected, 'accept')) {
      assert.deepEqual(decision, { accept: false, reason: str(e.expected, 'reason') })
      return
    }
    assert.ok(decision.accept, `expected acceptance, got ${JSON.stringify(decision)}`)
    const source = hostOf(str(e.input, 'source_address'))
    assert.equal(
      toCandidateAddress(source, decision.announcement.gossipPort),
      str(e.expected, 'candidate_address'),
    )
  })
}

/** Entry 9 (informative, see the file comment): HEAD's mDNS service, name and TXT records. */
function mdnsTests(e: VectorEntry): void {
  test('service, instance name and TXT records follow §8.5', () => {
    const publicId = str(e.input, 'public_id')
    const port = int(e.input, 'gossip_port')
    const id20 = publicId.slice(1, 21) // the base64 part starts after '@'
    const net = toHex(lanDiscriminator(deriveNetworkKey(str(e.input, 'network_key_string'))))
    assert.deepEqual(
      {
        service_type: '_egregore._tcp.local.',
        instance_name: `egregore-${id20}`,
        txt: { id: id20, port: String(port), net },
        srv_port: port,
      },
      { ...e.expected, txt: { ...(e.expected['txt'] as Fields) } },
    )
  })
}

/** Choose the checks of an entry from the keys of its input and expected objects. */
function dispatch(e: VectorEntry): ((e: VectorEntry) => void) | null {
  const { input, expected } = e
  if (hasKeys(input, ['public_id', 'network_key_string', 'gossip_port'])) {
    if (hasKeys(expected, ['datagram_utf8', 'datagram_length', 'send_to'])) return announcementTests
    if (hasKeys(expected, ['service_type', 'instance_name', 'txt', 'srv_port'])) return mdnsTests
  }
  const filterInput = ['datagram_utf8', 'our_public_id', 'our_network_key_string', 'source_address']
  if (hasKeys(input, filterInput)) {
    if (
      hasKeys(expected, ['accept', 'candidate_address']) ||
      hasKeys(expected, ['accept', 'reason'])
    )
      return filterTests
  }
  return null
}

checkEveryEntry('discovery.json', entries, dispatch, describe, test)

test('discovery.json has the 10 entries of its README', () => {
  assert.equal(entries.length, 10)
})
