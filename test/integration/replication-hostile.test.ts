/**
 * A malicious peer that speaks the real protocol (issue #5; PROTOCOL.md §4.3–§4.6, §5): a genuine
 * handshake and the real gossip codec, carrying forged signatures, tampered content and hashes,
 * forks, unrequested authors, oversized batches, floods of wants, garbage and documents out of
 * order — as the server a real node dials, and as a client dialling it. Nothing bad is stored,
 * good messages beside bad ones are, the connection ends where the spec says, and the node stays up.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { fromPlainJson } from '../../src/codec/index.js'
import { deriveNetworkKey } from '../../src/crypto/index.js'
import type { SignedMessage } from '../../src/feed/index.js'
import type { EgregoreNode } from '../../src/node/index.js'
import {
  encodeGossipMessage,
  writeGossipMessage,
  type FeedRequest,
  type FeedState,
  type OutgoingGossipMessage,
  type Want,
} from '../../src/replication/index.js'
import { openDatabase } from '../../src/store/index.js'
import { at, buildFeed, messagesOf, signAt, testIdentity } from '../helpers/feeds.js'
import {
  afterOf,
  dialAsHostile,
  finishAsServer,
  forgedSignature,
  haveOf,
  messagesDoc,
  openAsClient,
  openAsServer,
  rawClient,
  serving,
  startHostileServer,
  tamperedContent,
  tamperedHash,
  type ClientLink,
  type HostileIdentity,
  type Link,
  type Session,
} from '../helpers/hostile-peer.js'
import { httpRequest, waitFor } from '../helpers/http.js'
import { startTestNodeIn } from '../helpers/process.js'
import { captureLogger, guardProcess } from '../unit/net/net-helpers.js'

const NETWORK = 'egregore-hostile-test'
/** The hostile peer: its own transport identity, on the node's network. */
const HOSTILE: HostileIdentity = {
  identity: testIdentity(0x48),
  networkKey: deriveNetworkKey(NETWORK),
}
/** The author whose feed the hostile peer offers (genuinely signed, then tampered with). */
const MALLORY = testIdentity(0x4d)
/** An author the node never asks for. */
const OTHER = testIdentity(0x4f)

type CaptureLogger = ReturnType<typeof captureLogger>
type Target = EgregoreNode & { readonly dataDir: string; readonly log: CaptureLogger }

const gossipConfig = {
  bind: '127.0.0.1',
  port: 0,
  networkKey: NETWORK,
  intervalSecs: 3600,
  manualSync: true, // every sync is driven by the test
}

/** The real node under attack, with a capturing logger; `peers` are the addresses it dials. */
async function startTarget(t: TestContext, peers: string[] = []): Promise<Target> {
  guardProcess(t)
  const log = captureLogger()
  const node = await startTestNodeIn(t, { peers, gossip: gossipConfig }, { log })
  return Object.assign(node, { log })
}

const gossipAddress = (node: EgregoreNode): string => `127.0.0.1:${node.gossip?.port() ?? 0}`

/**
 * The node still works after the attack: its HTTP API answers, it publishes, and a fresh honest
 * node pulls its whole feed from it.
 */
async function assertStillServes(t: TestContext, node: Target): Promise<void> {
  const status = await httpRequest(node.httpPort(), { path: '/v1/status' })
  assert.equal(status.status, 200)
  const published = await node.engine.publish(fromPlainJson({ type: 'note', text: 'still here' }))
  const honest = await startTestNodeIn(t, { peers: [gossipAddress(node)], gossip: gossipConfig })
  await honest.gossip?.syncOnce()
  assert.equal(honest.store.headOf(node.identity.id)?.hash, published.message.hash)
  assert.equal(honest.store.contiguousSequence(node.identity.id), published.message.sequence)
}

/** What the node holds of `author`: [sequence, hash, chainValid], ascending. */
function storedOf(node: EgregoreNode, author: string): [number, string, boolean][] {
  return node.store.messagesAfter(author, 0, 1000).map((m) => [m.sequence, m.hash, m.chainValid])
}

/** The expected `storedOf` rows for genuine messages. */
function rows(messages: readonly SignedMessage[], chainValid: boolean | boolean[]): unknown[] {
  return messages.map((s, i) => [
    s.message.sequence,
    s.message.hash,
    Array.isArray(chainValid) ? chainValid[i] : chainValid,
  ])
}

/** The reasons of the node's "rejected message" log lines, in order. */
function rejections(node: Target): unknown[] {
  return node.log.entries
    .filter((e) => e.msg.startsWith('rejected message'))
    .map((e) => e.obj['reason'])
}

/** Fork evidence the node recorded for `author` (PROTOCOL.md §5.2 step 8, `forks` table). */
function forksOf(node: Target, author: string): unknown[] {
  const db = openDatabase(join(node.dataDir, 'egregore.db'), { readonly: true })
  try {
    return db
      .prepare(
        'SELECT sequence, held_hash, received_hash, received_json FROM forks WHERE author = ? ORDER BY sequence, id',
      )
      .all(author)
  } finally {
    db.close()
  }
}

/** A validly signed message whose content exceeds 65536 bytes (step 2: too_large). */
function oversizedContent(sequence: number, previous: string): string {
  return signAt(MALLORY, {
    sequence,
    previous,
    content: { type: 'note', text: 'x'.repeat(66000) },
  }).wireText
}

/** Another validly signed message of MALLORY at `sequence`: a fork of the genuine one. */
function forkOf(sequence: number, previous: string | null): SignedMessage {
  return signAt(MALLORY, { sequence, previous, content: { type: 'note', text: 'the other story' } })
}

const MAIN = buildFeed(MALLORY, 7)

const malloryUpTo = (latestSequence: number): FeedState[] => [
  { author: MALLORY.id, latestSequence },
]

/**
 * MALLORY 1–7 with 2–6 each broken one way; 1 and 7 genuine. The reasons the node must log, in
 * order, follow.
 */
function poisonedBatch(): string[] {
  const m = (sequence: number): SignedMessage => at(MAIN, sequence - 1)
  return [
    m(1).wireText,
    forgedSignature(m(2), OTHER),
    tamperedContent(m(3)),
    tamperedHash(m(4), MALLORY),
    tamperedHash(m(5)),
    oversizedContent(6, m(5).message.hash),
    m(7).wireText,
  ]
}
const POISON_REASONS = ['bad_signature', 'bad_hash', 'bad_hash', 'bad_signature', 'too_large']

/** Dial the node's gossip port as the hostile peer. */
const dialTarget = (t: TestContext, node: EgregoreNode): Promise<ClientLink> =>
  dialAsHostile(t, HOSTILE, node.gossip?.port() ?? 0)

/** How many log lines of the node carry exactly this message. */
const logCount = (node: Target, msg: string): number =>
  node.log.entries.filter((e) => e.msg === msg).length

/**
 * Client step 6 ends: `done` and goodbye. Resolves once the node has finished with the exchange
 * (its ingest has settled): our socket may close before that, so wait for the node's own log.
 */
async function finishAsClient(link: Link, node: Target): Promise<void> {
  const served = logCount(node, 'served a pull exchange')
  await link.send({ type: 'done' })
  await link.conn.close()
  await waitFor(() => logCount(node, 'served a pull exchange') > served, {
    what: 'the node to finish the exchange',
  })
}

/** One full hostile client exchange serving `documents` in step 6; returns the node's want. */
async function pushAsClient(
  t: TestContext,
  node: Target,
  feeds: FeedState[],
  documents: string[],
): Promise<Want> {
  const link = await dialTarget(t, node)
  const { want } = await openAsClient(link, feeds)
  for (const doc of documents) await link.sendText(doc)
  await finishAsClient(link, node)
  return want
}

/**
 * Send `documents`, then wait until the node has cut the connection for them (its handler failed,
 * after its ingest settled) with a logged `reason`, and check it sent no goodbye (§4.1, §4.3).
 */
async function assertCutAfter(
  link: ClientLink,
  node: Target,
  documents: string[],
  reason: RegExp,
): Promise<void> {
  const failed = logCount(node, 'connection handler failed')
  for (const doc of documents) await link.sendText(doc).catch(() => undefined) // may be cut first
  await link.conn.closed
  await waitFor(() => logCount(node, 'connection handler failed') > failed, {
    what: 'the node to end the connection',
  })
  const logged = node.log.entries.filter((e) => e.msg === 'connection handler failed').at(-1)
  assert.match(String(logged?.obj['err']), reason)
  assert.equal(link.goodbye(), false, 'a protocol or decode error closes without a goodbye')
}

// ── The node dials the hostile peer ─────────────────────────────────────────────────────────────

describe('a hostile server the node dials', () => {
  test('forged signatures, tampered content and hashes, oversized content: only the genuine messages are stored', async (t) => {
    const wants: Want[] = []
    const genuine2to6 = messagesDoc(MAIN.slice(1, 6).map((s) => s.wireText))
    let afterPoison: unknown[] = []
    const server = await startHostileServer(t, HOSTILE, [
      serving(malloryUpTo(7), [messagesDoc(poisonedBatch())], wants),
      // the catch-up round (§4.10): the genuine 2–6 still get in; nothing was poisoned
      async (link) => {
        afterPoison = storedOf(node, MALLORY.id)
        await serving(malloryUpTo(7), [genuine2to6], wants)(link)
      },
    ])
    const node = await startTarget(t, [server.address])
    await node.gossip?.syncOnce()
    assert.deepEqual(afterPoison, rows([at(MAIN, 0), at(MAIN, 6)], [true, false]))
    assert.deepEqual(wants.map(afterOf), [[[MALLORY.id, 0]], [[MALLORY.id, 1]]])
    assert.deepEqual(rejections(node), POISON_REASONS)
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN, true))
    assert.equal(server.sessions(), 2)
    await assertStillServes(t, node)
  })

  test('a fork is recorded as evidence, never stored; the valid messages around it are', async (t) => {
    const held = MAIN.slice(0, 3)
    const fork2 = forkOf(2, at(MAIN, 0).message.hash)
    const fork4 = forkOf(4, at(MAIN, 2).message.hash)
    const wants: Want[] = []
    // the node asked for everything after 3; the fork of 2 comes anyway (MALLORY is wanted)
    const batch = [fork2.wireText, at(MAIN, 3).wireText, fork4.wireText]
    const server = await startHostileServer(t, HOSTILE, [
      serving(malloryUpTo(4), [messagesDoc(batch)], wants),
    ])
    const node = await startTarget(t, [server.address])
    await node.engine.ingestMany(messagesOf(held))
    await node.gossip?.syncOnce()
    assert.deepEqual(wants.map(afterOf), [[[MALLORY.id, 3]]])
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN.slice(0, 4), true))
    assert.deepEqual(rejections(node), ['fork', 'fork'])
    assert.deepEqual(forksOf(node, MALLORY.id), [
      {
        sequence: 2,
        held_hash: at(MAIN, 1).message.hash,
        received_hash: fork2.message.hash,
        received_json: fork2.wireText,
      },
      {
        sequence: 4,
        held_hash: at(MAIN, 3).message.hash,
        received_hash: fork4.message.hash,
        received_json: fork4.wireText,
      },
    ])
    assert.equal(node.log.entries.filter((e) => /^fork detected/.test(e.msg)).length, 2)
    await assertStillServes(t, node)
  })

  test('messages of authors the node did not request are dropped', async (t) => {
    const others = buildFeed(OTHER, 2)
    const mine = MAIN.slice(0, 2)
    const wants: Want[] = []
    const interleaved = [at(others, 0), at(mine, 0), at(others, 1), at(mine, 1)]
    const server = await startHostileServer(t, HOSTILE, [
      serving(
        [...malloryUpTo(2), { author: OTHER.id, latestSequence: 2 }],
        [messagesDoc(interleaved.map((s) => s.wireText))],
        wants,
      ),
    ])
    const node = await startTarget(t, [server.address])
    node.state.follow(MALLORY.id) // OTHER is advertised but fails the follow filter (§4.9)
    await node.gossip?.syncOnce()
    assert.deepEqual(wants.map(afterOf), [[[MALLORY.id, 0]]])
    assert.deepEqual(storedOf(node, MALLORY.id), rows(mine, true))
    assert.equal(node.store.headOf(OTHER.id), undefined)
    assert.ok(!node.store.feedSummaries().some((f) => f.author === OTHER.id))
    await assertStillServes(t, node)
  })

  test('only the first 200 messages of a messages document are considered', async (t) => {
    const feed = buildFeed(MALLORY, 250)
    const wants: Want[] = []
    const server = await startHostileServer(t, HOSTILE, [
      serving(malloryUpTo(250), [messagesDoc(feed.map((s) => s.wireText))], wants),
      serving(malloryUpTo(250), [messagesDoc(feed.slice(200).map((s) => s.wireText))], wants),
    ])
    const node = await startTarget(t, [server.address])
    await node.gossip?.syncOnce()
    // the catch-up round asked for what was dropped: the first round stored exactly 1–200
    assert.deepEqual(wants.map(afterOf), [[[MALLORY.id, 0]], [[MALLORY.id, 200]]])
    assert.equal(node.store.contiguousSequence(MALLORY.id), 250)
    await assertStillServes(t, node)
  })

  test('a have that advertises what it never serves costs one catch-up round, not a hundred', async (t) => {
    const wants: Want[] = []
    const lie = malloryUpTo(1000)
    const firstThree = messagesDoc(MAIN.slice(0, 3).map((s) => s.wireText))
    const server = await startHostileServer(t, HOSTILE, [
      serving(lie, [firstThree], wants),
      serving(lie, [], wants),
    ])
    const node = await startTarget(t, [server.address])
    await node.gossip?.syncOnce()
    assert.equal(server.sessions(), 2)
    assert.deepEqual(wants.map(afterOf), [[[MALLORY.id, 0]], [[MALLORY.id, 3]]])
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN.slice(0, 3), true))
    await assertStillServes(t, node)
  })

  test('truncated JSON after a good batch fails the sync; the batch before it is kept', async (t) => {
    const wants: Want[] = []
    const server = await startHostileServer(t, HOSTILE, [
      async (link) => {
        wants.push(await openAsServer(link, malloryUpTo(7)))
        await link.sendText(messagesDoc(MAIN.slice(0, 2).map((s) => s.wireText)))
        await link.sendText('{"type":"messages","messages":[') // truncated JSON
        const late = messagesDoc(MAIN.slice(2, 4).map((s) => s.wireText)) // never read
        await link.sendText(late).catch(() => undefined) // the node may have cut us already
        await link.conn.closed
      },
    ])
    const node = await startTarget(t, [server.address])
    await node.gossip?.syncOnce()
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN.slice(0, 2), true))
    const failed = node.log.entries.find((e) => e.msg === 'sync failed; backing off')
    assert.match(String(failed?.obj['err']), /invalid JSON/)
    await assertStillServes(t, node)
  })

  test('messages before have: a protocol error, nothing stored', async (t) => {
    const server = await startHostileServer(t, HOSTILE, [
      async (link) => {
        assert.equal((await link.receive())?.type, 'have')
        await link.sendText(messagesDoc(MAIN.slice(0, 2).map((s) => s.wireText)))
        await link.conn.closed
      },
    ])
    const node = await startTarget(t, [server.address])
    await node.gossip?.syncOnce()
    assert.equal(node.store.headOf(MALLORY.id), undefined)
    const failed = node.log.entries.find((e) => e.msg === 'sync failed; backing off')
    assert.match(String(failed?.obj['err']), /awaiting have.*unexpected 'messages'/)
    await assertStillServes(t, node)
  })

  test('a decode error on the dialling side closes without a goodbye (§4.3)', async (t) => {
    const server = await startHostileServer(t, HOSTILE, [
      async (link) => {
        assert.equal((await link.receive())?.type, 'have')
        await link.sendText('not json at all')
        await link.conn.closed
      },
    ])
    const node = await startTarget(t, [server.address])
    await node.gossip?.syncOnce()
    assert.equal(server.sessions(), 1)
    assert.equal(server.goodbyes(), 0)
  })

  test('a flood of wants: at most 500 requests and 10000 messages are served', async (t) => {
    const flood = (afterSequence: number): FeedRequest[] =>
      Array.from({ length: 1400 }, () => ({ author: node.identity.id, afterSequence }))
    const served: number[] = []
    const floodSession =
      (afterSequence: number): Session =>
      async (link) => {
        await openAsServer(link, [])
        served.push((await finishAsServer(link, flood(afterSequence))).length)
      }
    const server = await startHostileServer(t, HOSTILE, [floodSession(47), floodSession(0)])
    const node = await startTarget(t, [server.address])
    for (let i = 0; i < 50; i++)
      await node.engine.publish(fromPlainJson({ type: 'note', text: `own ${i}` }))
    await node.gossip?.syncOnce() // 1400 requests for 48–50: only 500 served, 3 messages each
    await node.gossip?.syncOnce() // 1400 requests for 1–50: stops at 10000 messages
    assert.deepEqual(served, [1500, 10000])
    await assertStillServes(t, node)
  })
})

// ── The hostile peer dials the node ─────────────────────────────────────────────────────────────

describe('a hostile client dialling the node', () => {
  test('forged signatures, tampered content and hashes, oversized content: only the genuine messages are stored', async (t) => {
    const node = await startTarget(t)
    const want = await pushAsClient(t, node, malloryUpTo(7), [messagesDoc(poisonedBatch())])
    assert.deepEqual(afterOf(want), [[MALLORY.id, 0]])
    assert.deepEqual(rejections(node), POISON_REASONS)
    assert.deepEqual(storedOf(node, MALLORY.id), rows([at(MAIN, 0), at(MAIN, 6)], [true, false]))
    // the genuine 2–6 still get in afterwards and close the gap: nothing was poisoned
    const genuine = MAIN.slice(1, 6).map((s) => s.wireText)
    const again = await pushAsClient(t, node, malloryUpTo(7), [messagesDoc(genuine)])
    assert.deepEqual(afterOf(again), [[MALLORY.id, 1]])
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN, true))
    await assertStillServes(t, node)
  })

  test('a fork is recorded as evidence, never stored', async (t) => {
    const node = await startTarget(t)
    await node.engine.ingestMany(messagesOf(MAIN.slice(0, 3)))
    const fork3 = forkOf(3, at(MAIN, 1).message.hash)
    const want = await pushAsClient(t, node, malloryUpTo(4), [
      messagesDoc([fork3.wireText, at(MAIN, 3).wireText]),
    ])
    assert.deepEqual(afterOf(want), [[MALLORY.id, 3]])
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN.slice(0, 4), true))
    assert.deepEqual(rejections(node), ['fork'])
    assert.deepEqual(forksOf(node, MALLORY.id), [
      {
        sequence: 3,
        held_hash: at(MAIN, 2).message.hash,
        received_hash: fork3.message.hash,
        received_json: fork3.wireText,
      },
    ])
    await assertStillServes(t, node)
  })

  test('messages of authors the node did not request are dropped', async (t) => {
    const node = await startTarget(t)
    const others = buildFeed(OTHER, 2)
    // OTHER is not in our have, so the node never asks for it
    const docs = [messagesDoc([...others, ...MAIN.slice(0, 2)].map((s) => s.wireText))]
    const want = await pushAsClient(t, node, malloryUpTo(2), docs)
    assert.deepEqual(afterOf(want), [[MALLORY.id, 0]])
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN.slice(0, 2), true))
    assert.equal(node.store.headOf(OTHER.id), undefined)
    await assertStillServes(t, node)
  })

  test('only the first 200 messages of a messages document are considered', async (t) => {
    const node = await startTarget(t)
    const feed = buildFeed(MALLORY, 250)
    await pushAsClient(t, node, malloryUpTo(250), [messagesDoc(feed.map((s) => s.wireText))])
    assert.deepEqual(storedOf(node, MALLORY.id), rows(feed.slice(0, 200), true))
    await assertStillServes(t, node)
  })

  test('a flood of wants: at most 500 requests and 10000 messages are served, and the node stays responsive', async (t) => {
    const node = await startTarget(t)
    for (let i = 0; i < 50; i++)
      await node.engine.publish(fromPlainJson({ type: 'note', text: `own ${i}` }))
    const flood = (afterSequence: number): FeedRequest[] =>
      Array.from({ length: 1400 }, () => ({ author: node.identity.id, afterSequence }))

    const first = await dialTarget(t, node)
    const { received } = await openAsClient(first, [], flood(47))
    assert.equal(received.length, 1500) // 500 requests × messages 48–50
    await finishAsClient(first, node)

    const second = await dialTarget(t, node)
    await second.send(haveOf([]))
    assert.equal((await second.receive())?.type, 'have')
    await second.send({ type: 'want', requests: flood(0) })
    const firstBatch = await second.receive()
    assert.ok(firstBatch?.type === 'messages')
    // while this connection is being served (and we read slowly), the node answers others
    const status = await httpRequest(node.httpPort(), { path: '/v1/status' })
    assert.equal(status.status, 200)
    await node.engine.publish(fromPlainJson({ type: 'note', text: 'during the flood' }))
    const rest = await second.receiveUntilDone()
    assert.equal(firstBatch.messages.length + rest.length, 10000) // 200 requests × 1–50
    assert.equal((await second.receive())?.type, 'want')
    await finishAsClient(second, node)
    await assertStillServes(t, node)
  })

  test('a want of 100000 requests (over 128 KiB) closes the connection', async (t) => {
    const node = await startTarget(t)
    const raw = await rawClient(t, HOSTILE, node.gossip?.port() ?? 0)
    raw.sendMessage(encodeGossipMessage(haveOf([])))
    const requests = Array.from({ length: 100000 }, () => ({
      author: MALLORY.id,
      afterSequence: 0,
    }))
    const want = encodeGossipMessage({ type: 'want', requests })
    assert.ok(want.length > 8_000_000)
    raw.sendOversized(want, 140 * 1024) // all "more" frames: the node must stop at 128 KiB
    await raw.closed
    await waitFor(() =>
      node.log.entries.some(
        (e) =>
          e.msg === 'connection closed' && /assembled message too large/.test(String(e.obj['err'])),
      ),
    )
    await assertStillServes(t, node)
  })

  test('an invalid document after a good batch closes without a goodbye; the batch before it is kept', async (t) => {
    const node = await startTarget(t)
    const link = await dialTarget(t, node)
    const { want } = await openAsClient(link, malloryUpTo(7))
    assert.deepEqual(afterOf(want), [[MALLORY.id, 0]])
    // a structurally invalid message (sequence 4.0) makes its whole document invalid (§1.10)
    const bad = at(MAIN, 3).wireText.replace('"sequence":4,', '"sequence":4.0,')
    const docs = [
      messagesDoc(MAIN.slice(0, 2).map((s) => s.wireText)),
      messagesDoc([at(MAIN, 2).wireText, bad]),
    ]
    await assertCutAfter(link, node, docs, /messages\.messages\[1\]/)
    assert.deepEqual(storedOf(node, MALLORY.id), rows(MAIN.slice(0, 2), true))
    await assertStillServes(t, node)
  })

  test('documents out of order close the connection without a goodbye; nothing is stored or served', async (t) => {
    const node = await startTarget(t)
    await node.engine.publish(fromPlainJson({ type: 'note', text: 'not for hostile peers' }))
    const genuine = messagesDoc(MAIN.slice(0, 2).map((s) => s.wireText))

    const messagesFirst = await dialTarget(t, node)
    await assertCutAfter(messagesFirst, node, [genuine], /awaiting have.*unexpected 'messages'/)

    const wantFirst = await dialTarget(t, node)
    const wantAll: OutgoingGossipMessage = {
      type: 'want',
      requests: [{ author: node.identity.id, afterSequence: 0 }],
    }
    await assertCutAfter(wantFirst, node, [writeGossipMessage(wantAll)], /awaiting have/)
    assert.equal(await wantFirst.receive(), null) // no have, no messages

    const secondWant = await dialTarget(t, node)
    await openAsClient(secondWant, malloryUpTo(2))
    // step 6 must be messages or done
    const emptyWant = writeGossipMessage({ type: 'want', requests: [] })
    await assertCutAfter(secondWant, node, [emptyWant, genuine], /receiving messages.*'want'/)

    assert.equal(node.store.headOf(MALLORY.id), undefined)
    await assertStillServes(t, node)
  })
})
