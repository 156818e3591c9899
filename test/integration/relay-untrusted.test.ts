/**
 * The relay is untrusted (PROTOCOL.md §9.1): a relay whose database is tampered with can withhold
 * messages but never make a node accept invalid data, and the gap is backfilled from another
 * path. Also: a relay restart loses no messages or registrations (§9.4), and `--max-links` caps
 * persistent links while further nodes still sync pull-only (§9.3, §4.7.1).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { fromPlainJson, toBase64, utf8 } from '../../src/codec/index.js'
import { sha256Hex, sign } from '../../src/crypto/index.js'
import { toWireText } from '../../src/feed/index.js'
import type { EgregoreNode } from '../../src/node/index.js'
import type { Relay } from '../../src/relay/index.js'
import { testIdentity } from '../helpers/feeds.js'
import { waitFor } from '../helpers/http.js'
import {
  RELAY_TEST_NETWORK_KEY,
  nodeHome,
  recordingLogger,
  register,
  relayHome,
  startTestRelay,
  type LogLine,
} from '../helpers/relay.js'

/** A node config that syncs only when the test says so, with the relay as its one peer. */
function viaRelay(relay: Relay) {
  return {
    peers: [`127.0.0.1:${relay.gossipPort()}`],
    gossip: {
      bind: '127.0.0.1',
      port: 0,
      networkKey: RELAY_TEST_NETWORK_KEY,
      intervalSecs: 3600,
      manualSync: true,
    },
  }
}

async function publish(node: EgregoreNode, n: number): Promise<void> {
  for (let i = 1; i <= n; i++)
    await node.engine.publish(fromPlainJson({ type: 'note', text: `message ${i}` }))
}

const wire = (node: { store: EgregoreNode['store'] }, author: string): string[] =>
  node.store.messagesAfter(author, 0, 1000).map((m) => m.wireText)

const syncFailures = (lines: readonly LogLine[]): LogLine[] =>
  lines.filter((l) => l.msg === 'sync failed; backing off')

/** A wire text (§1.9) taken apart: canonical unsigned text, hash, signature. */
function splitWire(wireText: string): { canonical: string; hash: string; signature: string } {
  const m = /,"hash":"([0-9a-f]{64})","signature":"([^"]+)"\}$/.exec(wireText)
  assert.ok(m?.[1] !== undefined && m[2] !== undefined, `not a wire text: ${wireText}`)
  return { canonical: `${wireText.slice(0, m.index)}}`, hash: m[1], signature: m[2] }
}

/** The content of message `sequence` with its text changed (the wire text stays well-formed). */
function editContent(canonical: string, sequence: number): string {
  const edited = canonical.replace(
    `"text":"message ${sequence}"`,
    `"text":"message ${sequence}, amended by the relay"`,
  )
  assert.notEqual(edited, canonical)
  return edited
}

const mallory = testIdentity(0x66)

/** What a dishonest relay writes over A's message at a sequence, and what B must answer. */
const TAMPERS: Record<number, { reason: string; tamper: (w: string) => string }> = {
  // content changed, hash left stale
  2: {
    reason: 'bad_hash',
    tamper(w) {
      const { canonical, hash, signature } = splitWire(w)
      return toWireText(editContent(canonical, 2), hash, signature)
    },
  },
  // content changed, hash recomputed to match
  3: {
    reason: 'bad_signature',
    tamper(w) {
      const { canonical, signature } = splitWire(w)
      const edited = editContent(canonical, 3)
      return toWireText(edited, sha256Hex(edited), signature)
    },
  },
  // hash field replaced
  5: {
    reason: 'bad_signature',
    tamper(w) {
      const { canonical, signature } = splitWire(w)
      return toWireText(canonical, sha256Hex('not the hash'), signature)
    },
  },
  // signature replaced by another key's signature of the same hash
  6: {
    reason: 'bad_signature',
    tamper(w) {
      const { canonical, hash } = splitWire(w)
      return toWireText(canonical, hash, toBase64(sign(mallory, utf8(hash))))
    },
  },
}
const SWAPPED = [8, 9] as const
const DROPPED = [10, 12]
const N = 12

/**
 * Rewrite the stopped relay's database as a dishonest operator would: the `raw_json` column is
 * what the relay serves verbatim (`messagesAfter` → wire text, §1.9); `hash`, `sequence` and
 * the feeds row are left alone, so the relay still advertises and pages the feed as before.
 */
function tamperRelayDb(dataDir: string, author: string): void {
  const db = new Database(join(dataDir, 'egregore.db'))
  try {
    const rawAt = db
      .prepare('SELECT raw_json FROM messages WHERE author = ? AND sequence = ?')
      .pluck()
    const setRaw = db.prepare('UPDATE messages SET raw_json = ? WHERE author = ? AND sequence = ?')
    const raw = (s: number): string => rawAt.get(author, s) as string
    db.transaction(() => {
      for (const [s, t] of Object.entries(TAMPERS))
        setRaw.run(t.tamper(raw(Number(s))), author, Number(s))
      const [x, y] = SWAPPED
      const [rx, ry] = [raw(x), raw(y)]
      setRaw.run(ry, author, x)
      setRaw.run(rx, author, y)
      for (const s of DROPPED)
        db.prepare('DELETE FROM messages WHERE author = ? AND sequence = ?').run(author, s)
    })()
  } finally {
    db.close()
  }
}

test('a tampered relay store never makes a node accept invalid data; the gap is backfilled from A', async (t) => {
  const home = relayHome(t)
  let relay = await home.start()
  const a = await nodeHome(t).start(viaRelay(relay))
  assert.equal((await register(relay.httpPort(), a.identity)).status, 201)
  await publish(a, N)
  await a.gossip!.syncOnce()
  await waitFor(() => relay.store.contiguousSequence(a.identity.id) === N, {
    what: "the relay to store A's messages",
  })
  const original = wire(a, a.identity.id)
  assert.equal(original.length, N)

  await relay.stop()
  tamperRelayDb(home.dataDir, a.identity.id)
  relay = await home.start()
  // The relay now serves, in sequence order: 1, four forgeries, 4, 7, 9 as 8, 8 as 9, 11.
  assert.deepEqual(
    relay.store.messagesAfter(a.identity.id, 0, 100).map((m) => m.sequence),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 11],
  )

  const log = recordingLogger()
  const b = await nodeHome(t).start(viaRelay(relay), { log })
  assert.equal((await register(relay.httpPort(), b.identity)).status, 201)
  await b.gossip!.syncOnce()
  assert.deepEqual(syncFailures(log.lines), [], 'the exchange itself succeeds')

  const stored = b.store.messagesAfter(a.identity.id, 0, 100)
  assert.deepEqual(
    stored.map((m) => m.sequence),
    [1, 4, 7, 8, 9, 11],
    'every forgery rejected; reordered messages are still genuine; dropped ones missing',
  )
  for (const m of stored)
    assert.equal(m.wireText, original[m.sequence - 1], `message ${m.sequence} is A's, verbatim`)
  assert.equal(b.store.contiguousSequence(a.identity.id), 1, 'the gap starts at the forgery')
  assert.deepEqual(b.store.headOf(a.identity.id), {
    sequence: 11,
    hash: splitWire(original[10]!).hash,
    chainValid: false,
  })
  const reasons = new Set(
    log.lines.filter((l) => l.msg.startsWith('rejected message')).map((l) => l.fields['reason']),
  )
  assert.deepEqual(reasons, new Set(Object.values(TAMPERS).map((x) => x.reason)))

  // B is healthy: it keeps its link to the relay, publishes, and syncs again without error.
  assert.deepEqual(b.gossip!.links(), [relay.identity.id])
  await publish(b, 1)
  assert.equal(b.store.contiguousSequence(b.identity.id), 1)

  b.state.addManualPeer(`127.0.0.1:${a.gossip!.port()}`)
  await b.gossip!.syncOnce()
  assert.deepEqual(syncFailures(log.lines), [])
  assert.deepEqual(wire(b, a.identity.id), original, 'backfilled from A, byte for byte')
  assert.equal(b.store.contiguousSequence(a.identity.id), N)
  assert.equal(b.store.headOf(a.identity.id)?.chainValid, true)
})

test('a relay restart loses no messages and no registrations', async (t) => {
  const home = relayHome(t)
  const first = await home.start()
  const a = await nodeHome(t).start(viaRelay(first))
  assert.equal((await register(first.httpPort(), a.identity, { nickname: 'a' })).status, 201)
  const homeB = nodeHome(t)
  const offline = await homeB.start({}) // B registers now and syncs only after the restart
  assert.equal((await register(first.httpPort(), offline.identity, { private: true })).status, 201)
  await offline.stop()
  await publish(a, 5)
  await a.gossip!.syncOnce()
  await waitFor(() => first.store.contiguousSequence(a.identity.id) === 5)
  const before = first.status()
  const directory = first.registry.directory()
  await first.stop()

  const relay = await home.start()
  assert.equal(relay.identity.id, first.identity.id, 'same identity')
  assert.equal(relay.createdIdentity, false)
  const after = relay.status()
  assert.deepEqual(
    [after.message_count, after.feed_count, after.authorized_peers],
    [before.message_count, before.feed_count, before.authorized_peers],
  )
  assert.deepEqual([after.message_count, after.authorized_peers], [5, 2])
  assert.deepEqual(relay.registry.directory(), directory, 'nickname, private flag, times kept')
  assert.deepEqual(wire(relay, a.identity.id), wire(a, a.identity.id))
  const again = await register(relay.httpPort(), a.identity)
  assert.equal(again.status, 400)
  assert.match(again.text, /ALREADY_REGISTERED/)

  // B's registration from before the restart still authorises it: it gets everything.
  const log = recordingLogger()
  const b = await homeB.start(viaRelay(relay), { log })
  await b.gossip!.syncOnce()
  assert.deepEqual(syncFailures(log.lines), [])
  assert.deepEqual(wire(b, a.identity.id), wire(a, a.identity.id))
  await b.gossip!.waitForLink(relay.identity.id)
})

test('--max-links 1: the second node syncs pull-only while the first keeps its link', async (t) => {
  const relay = await startTestRelay(t, { maxLinks: 1 })
  const a = await nodeHome(t).start(viaRelay(relay))
  const log = recordingLogger()
  const b = await nodeHome(t).start(viaRelay(relay), { log })
  await register(relay.httpPort(), a.identity)
  await register(relay.httpPort(), b.identity)
  await publish(a, 2)
  await a.gossip!.syncOnce()
  await a.gossip!.waitForLink(relay.identity.id)
  await relay.gossip.waitForLink(a.identity.id)

  await b.gossip!.syncOnce()
  assert.deepEqual(syncFailures(log.lines), [], "B's sync is a success (§4.7.1)")
  assert.deepEqual(wire(b, a.identity.id), wire(a, a.identity.id))
  assert.deepEqual(b.gossip!.links(), [], 'B was refused a link')
  assert.deepEqual(relay.gossip.links(), [a.identity.id])
  assert.deepEqual(a.gossip!.links(), [relay.identity.id])

  // A's link still carries pushes; B keeps getting A's feed by pull, and stays pull-only.
  await publish(a, 1)
  await waitFor(() => relay.store.contiguousSequence(a.identity.id) === 3, {
    what: "A's push to reach the relay without a sync",
  })
  await b.gossip!.syncOnce()
  assert.equal(b.store.contiguousSequence(a.identity.id), 3)
  assert.deepEqual(b.gossip!.links(), [])
  assert.deepEqual(relay.gossip.links(), [a.identity.id])
})
