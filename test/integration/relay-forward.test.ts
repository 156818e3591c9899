/**
 * Store-and-forward through a relay (PROTOCOL.md §9.1, §9.3, §9.6): real nodes and an in-process
 * relay on 127.0.0.1. A publishes and goes offline, B fetches A's messages from the relay, B's
 * reply reaches A when A comes back; connected nodes get pushes forwarded at once; unregistered
 * nodes and nodes on another network key get nothing; evicted and over-quota feeds are not
 * requested again.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fromPlainJson } from '../../src/codec/index.js'
import type { EgregoreNode } from '../../src/node/index.js'
import type { Relay } from '../../src/relay/index.js'
import { waitFor } from '../helpers/http.js'
import {
  RELAY_TEST_NETWORK_KEY,
  nodeHome,
  recordingLogger,
  register,
  startTestRelay,
} from '../helpers/relay.js'

/** A node config that syncs only when the test says so, with the relay as its one peer. */
function viaRelay(relay: Relay, networkKey = RELAY_TEST_NETWORK_KEY) {
  return {
    peers: [`127.0.0.1:${relay.gossipPort()}`],
    gossip: { bind: '127.0.0.1', port: 0, networkKey, intervalSecs: 3600, manualSync: true },
  }
}

async function publish(node: EgregoreNode, n: number, text: string): Promise<void> {
  for (let i = 1; i <= n; i++)
    await node.engine.publish(fromPlainJson({ type: 'note', text: `${text} ${i}` }))
}

const wire = (node: { store: EgregoreNode['store'] }, author: string): string[] =>
  node.store.messagesAfter(author, 0, 1000).map((m) => m.wireText)

/** The relay's record of its last completed exchange with `peerId` (§9.3), or null. */
function lastSynced(relay: Relay, peerId: string): string | null {
  return relay.registry.directory().find((p) => p.publicId === peerId)?.lastConnected ?? null
}

test('A → relay → B while A is offline, and B’s reply reaches A when it comes back', async (t) => {
  const relay = await startTestRelay(t)
  const homeA = nodeHome(t)
  const homeB = nodeHome(t)
  let a = await homeA.start(viaRelay(relay))
  assert.equal((await register(relay.httpPort(), a.identity, { nickname: 'a' })).status, 201)
  await publish(a, 3, 'from a')
  await a.gossip!.syncOnce()
  // The relay (the server) stores what A sent after A's side has finished: wait for it.
  await waitFor(() => relay.store.contiguousSequence(a.identity.id) === 3, {
    what: "the relay to store A's three messages",
  })
  assert.notEqual(lastSynced(relay, a.identity.id), null, 'last_connected is set (§9.3)')
  const aWire = wire(a, a.identity.id)
  await a.stop()

  const b = await homeB.start(viaRelay(relay))
  assert.equal((await register(relay.httpPort(), b.identity)).status, 201)
  await b.gossip!.syncOnce()
  assert.deepEqual(wire(b, a.identity.id), aWire, 'byte-identical wire text')
  await b.engine.publish(fromPlainJson({ type: 'note', text: 'reply from b' }))
  await b.gossip!.syncOnce()
  await waitFor(() => relay.store.contiguousSequence(b.identity.id) === 1, {
    what: "the relay to store B's reply",
  })

  a = await homeA.start(viaRelay(relay))
  assert.deepEqual(wire(a, a.identity.id), aWire, 'A kept its identity and feed')
  await a.gossip!.syncOnce()
  assert.deepEqual(wire(a, b.identity.id), wire(b, b.identity.id))
})

test('connected nodes get each other’s new messages forwarded by the relay at once', async (t) => {
  const relay = await startTestRelay(t)
  const a = await nodeHome(t).start(viaRelay(relay))
  const b = await nodeHome(t).start(viaRelay(relay))
  await register(relay.httpPort(), a.identity)
  await register(relay.httpPort(), b.identity)
  for (const n of [a, b]) {
    await n.gossip!.syncOnce()
    await n.gossip!.waitForLink(relay.identity.id)
    await relay.gossip.waitForLink(n.identity.id)
  }
  await publish(a, 1, 'live')
  // no sync: A pushes to the relay, which stores and pushes on to B (§9.3, §4.7.3)
  await waitFor(() => b.store.contiguousSequence(a.identity.id) === 1, {
    what: "B to receive A's message through the relay's push links",
  })
  assert.deepEqual(wire(b, a.identity.id), wire(a, a.identity.id))
})

test('an unregistered node is turned away after the handshake and exchanges nothing', async (t) => {
  const relay = await startTestRelay(t)
  const a = await nodeHome(t).start(viaRelay(relay))
  await register(relay.httpPort(), a.identity)
  await publish(a, 2, 'held by the relay')
  await a.gossip!.syncOnce()
  await waitFor(() => relay.store.contiguousSequence(a.identity.id) === 2)

  const log = recordingLogger()
  const stranger = await nodeHome(t).start(viaRelay(relay), { log })
  await publish(stranger, 2, 'nobody asked')
  await stranger.gossip!.syncOnce()
  const failed = log.lines.find((l) => l.msg === 'sync failed; backing off')
  assert.match(String(failed?.fields['err']), /peer closed before have/)
  assert.equal(stranger.store.contiguousSequence(a.identity.id), 0)
  assert.equal(relay.store.contiguousSequence(stranger.identity.id), 0)
  assert.equal(relay.status().feed_count, 1)
})

test('a node on another network key cannot even complete the handshake', async (t) => {
  const relay = await startTestRelay(t)
  const log = recordingLogger()
  const other = await nodeHome(t).start(viaRelay(relay, 'another-network'), { log })
  await register(relay.httpPort(), other.identity) // registration is HTTP: it works
  await publish(other, 1, 'wrong network')
  await other.gossip!.syncOnce()
  const failed = log.lines.find((l) => l.msg === 'sync failed; backing off')
  assert.match(String(failed?.fields['err']), /handshake|network/i)
  assert.equal(relay.status().message_count, 0)
})

test('after eviction the relay does not request the evicted range again (no churn)', async (t) => {
  let now = Date.now()
  const relay = await startTestRelay(t, { ttlDays: 1 }, { clock: { now: () => now } })
  const a = await nodeHome(t).start(viaRelay(relay))
  await register(relay.httpPort(), a.identity)
  await publish(a, 3, 'old news')
  await a.gossip!.syncOnce()
  await waitFor(() => relay.store.contiguousSequence(a.identity.id) === 3)
  now += 86_400_000 + 1
  assert.equal(relay.evictNow()[0]?.floorSequence, 3)
  assert.equal(relay.status().message_count, 0)

  const stored: string[] = []
  relay.engine.onMessage((e) => stored.push(e.hash))
  now += 1 // a new last_connected value marks the end of the next exchange
  const before = lastSynced(relay, a.identity.id)
  await publish(a, 1, 'news')
  await a.gossip!.syncOnce()
  await waitFor(() => lastSynced(relay, a.identity.id) !== before, {
    what: 'the relay to finish the exchange',
  })
  // only message 4 was requested and stored; 1–3 stayed evicted
  await waitFor(() => stored.length === 1, { what: 'message 4 at the relay' })
  assert.equal(relay.status().message_count, 1)
  assert.equal(relay.store.contiguousSequence(a.identity.id), 4)
})

test('a feed over --max-feed-bytes is no longer requested; nodes see no error', async (t) => {
  let tick = Date.now()
  const relay = await startTestRelay(t, { maxFeedBytes: 1500 }, { clock: { now: () => tick } })
  const log = recordingLogger()
  const a = await nodeHome(t).start(viaRelay(relay), { log })
  await register(relay.httpPort(), a.identity)
  await publish(a, 3, 'x'.repeat(300)) // ~600 bytes each: the third reaches the quota
  await a.gossip!.syncOnce()
  await waitFor(() => relay.status().capped_feeds.length === 1, { what: 'the feed to be capped' })
  const held = relay.status().message_count
  tick += 1
  const before = lastSynced(relay, a.identity.id)
  await publish(a, 2, 'more')
  await a.gossip!.syncOnce()
  await waitFor(() => lastSynced(relay, a.identity.id) !== before)
  assert.equal(relay.status().message_count, held, 'nothing more stored')
  assert.equal(log.lines.filter((l) => l.msg === 'sync failed; backing off').length, 0)
})
