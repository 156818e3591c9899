/**
 * Relay retention in the store (PROTOCOL.md §9.6): the longest prefix received before the cutoff
 * is deleted with its search rows, the floor is set, and ingest, wants and `have` respect it.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { utf8Length } from '../../../src/codec/index.js'
import type { Message } from '../../../src/feed/index.js'
import { computeWants } from '../../../src/replication/index.js'
import { createMessageStore } from '../../../src/store/index.js'
import {
  at,
  buildFeed,
  chainRows,
  createTestEngine,
  messagesOf,
  signAt,
  testIdentity,
  type TestEngine,
} from '../../helpers/feeds.js'

const alice = testIdentity(0xa1)
const bob = testIdentity(0xb0)
const T0 = 1_000_000
const T1 = 2_000_000

/** An engine whose receipt clock the test sets. */
function engineWithClock(t: Parameters<typeof createTestEngine>[0]): {
  te: TestEngine
  setNow: (ms: number) => void
} {
  let now = T0
  const te = createTestEngine(t, { file: true, clock: { now: () => now } })
  return { te, setNow: (ms) => (now = ms) }
}

/** Ingest each message at the given receipt time; every one must be stored. */
async function ingestAt(
  te: TestEngine,
  setNow: (ms: number) => void,
  items: readonly [Message, number][],
): Promise<void> {
  for (const [m, receivedAt] of items) {
    setNow(receivedAt)
    const r = await te.engine.ingest(m)
    assert.equal(r.status, 'stored', `#${m.sequence}: ${JSON.stringify(r)}`)
  }
}

const words = (n: number): { type: string; text: string } => ({
  type: 'note',
  text: `word${n}x unique`,
})

describe('evictReceivedBefore (§9.6)', () => {
  it('deletes only the prefix received before the cutoff and sets the floor', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const feed = messagesOf(buildFeed(alice, 5, { contentFn: words }))
    // received: 1 old, 2 old, 3 new, 4 old, 5 old → only 1 and 2 go (3 ends the prefix)
    await ingestAt(te, setNow, [
      [at(feed, 0), T0],
      [at(feed, 1), T0],
      [at(feed, 2), T1],
      [at(feed, 3), T0],
      [at(feed, 4), T0],
    ])
    const bytes = utf8Length(te.store.messagesAfter(alice.id, 0, 2)[0]?.wireText ?? '')
    const evicted = te.store.evictReceivedBefore(T1)
    assert.equal(evicted.length, 1)
    assert.equal(evicted[0]?.author, alice.id)
    assert.equal(evicted[0]?.floorSequence, 2)
    assert.equal(evicted[0]?.floorHash, at(feed, 1).hash)
    assert.equal(evicted[0]?.messages, 2)
    assert.ok((evicted[0]?.bytes ?? 0) > bytes) // two wire texts
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => r.sequence),
      [3, 4, 5],
    )
    const row = te.db
      .prepare('SELECT latest_sequence, floor_sequence, floor_hash FROM feeds WHERE author = ?')
      .get(alice.id)
    assert.deepEqual(row, {
      latest_sequence: 5,
      floor_sequence: 2,
      floor_hash: at(feed, 1).hash,
    })
    assert.deepEqual(te.store.floorOf(alice.id), { sequence: 2, hash: at(feed, 1).hash })
  })

  it('removes the search rows of evicted messages and keeps the others searchable', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const feed = messagesOf(buildFeed(alice, 3, { contentFn: words }))
    await ingestAt(te, setNow, [
      [at(feed, 0), T0],
      [at(feed, 1), T1],
      [at(feed, 2), T1],
    ])
    const ftsRows = (): number =>
      te.db.prepare('SELECT count(*) FROM messages_fts').pluck().get() as number
    assert.equal(ftsRows(), 3)
    te.store.evictReceivedBefore(T1)
    assert.equal(ftsRows(), 2)
    assert.deepEqual(te.store.search({ text: 'word1x' }), [])
    assert.equal(te.store.search({ text: 'word2x' }).length, 1)
    assert.equal(te.store.search({ text: 'unique' }).length, 2)
    assert.equal(te.store.integrityCheck(), 'ok')
  })

  it('leaves feeds with nothing old, and feeds whose first message is recent, untouched', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const a = messagesOf(buildFeed(alice, 2))
    const b = messagesOf(buildFeed(bob, 2))
    await ingestAt(te, setNow, [
      [at(a, 0), T1],
      [at(a, 1), T0], // old, but after a recent one: not a prefix
      [at(b, 0), T1],
      [at(b, 1), T1],
    ])
    assert.deepEqual(te.store.evictReceivedBefore(T1), [])
    assert.equal(te.store.counts().messageCount, 4)
    assert.equal(te.store.floorOf(alice.id).sequence, 0)
  })

  it('an evicted message is a duplicate on re-ingest; the feed keeps advertising its latest', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const feed = messagesOf(buildFeed(alice, 3))
    await ingestAt(te, setNow, [
      [at(feed, 0), T0],
      [at(feed, 1), T0],
      [at(feed, 2), T0],
    ])
    te.store.evictReceivedBefore(T1)
    assert.equal(te.store.counts().messageCount, 0)
    assert.equal(te.store.counts().feedCount, 1, 'the feed row stays')
    for (const m of feed) assert.deepEqual(await te.engine.ingest(m), { status: 'duplicate' })
    assert.equal(te.store.counts().messageCount, 0)
    // have: at least the floor (§4.3.1); wants start from the floor (§4.4): nothing re-requested
    assert.deepEqual(te.store.feedSummaries(), [
      { author: alice.id, latestSequence: 3, contiguousSequence: 3 },
    ])
    assert.equal(te.store.contiguousSequence(alice.id), 3)
    const have = { type: 'have' as const, feeds: [{ author: alice.id, latestSequence: 3 }] }
    assert.deepEqual(
      computeWants({ ...have, peerObservations: [], subscribedTopics: [] }, te.store, () => true),
      [],
    )
    const more = { author: alice.id, latestSequence: 5 }
    assert.deepEqual(
      computeWants(
        { type: 'have', feeds: [more], peerObservations: [], subscribedTopics: [] },
        te.store,
        () => true,
      ),
      [{ author: alice.id, afterSequence: 3 }],
    )
  })

  it('a message at floor + 1 chains from floor_hash: stored valid, or a forward fork', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const feed = messagesOf(buildFeed(alice, 4))
    await ingestAt(te, setNow, [
      [at(feed, 0), T0],
      [at(feed, 1), T0],
    ])
    te.store.evictReceivedBefore(T1)
    const forged = signAt(alice, { sequence: 3, previous: 'f'.repeat(64) }).message
    const rejected = await te.engine.ingest(forged)
    assert.equal(rejected.status, 'rejected')
    assert.equal(rejected.status === 'rejected' && rejected.reason, 'forward_fork')
    const stored = await te.engine.ingest(at(feed, 2))
    assert.deepEqual(stored.status === 'stored' && stored.chainValid, true)
    await te.engine.ingest(at(feed, 3))
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => [r.sequence, r.chainValid]),
      [
        [3, true],
        [4, true],
      ],
    )
    assert.equal(te.store.contiguousSequence(alice.id), 4)
  })

  it('with a gap in the prefix, the floor is the highest evicted message and its successors become valid', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const feed = messagesOf(buildFeed(alice, 6))
    // held {1, 2, 4, 5, 6}: 4, 5, 6 are gaps (3 missing); 1, 2, 4 old; 5, 6 recent
    await ingestAt(te, setNow, [
      [at(feed, 0), T0],
      [at(feed, 1), T0],
      [at(feed, 3), T0],
      [at(feed, 4), T1],
      [at(feed, 5), T1],
    ])
    assert.equal(te.store.contiguousSequence(alice.id), 2)
    const [evicted] = te.store.evictReceivedBefore(T1)
    assert.equal(evicted?.floorSequence, 4)
    assert.equal(evicted.messages, 3)
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => [r.sequence, r.chainValid]),
      [
        [5, true],
        [6, true],
      ],
    )
    assert.equal(te.store.contiguousSequence(alice.id), 6)
    assert.deepEqual(await te.engine.ingest(at(feed, 2)), { status: 'duplicate' })
  })

  it('the floor survives reopening the store', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const feed = messagesOf(buildFeed(alice, 2))
    await ingestAt(te, setNow, [[at(feed, 0), T0]])
    te.store.evictReceivedBefore(T1)
    const reopened = createMessageStore(te.db)
    assert.deepEqual(reopened.floorOf(alice.id), { sequence: 1, hash: at(feed, 0).hash })
    assert.equal(reopened.contiguousSequence(alice.id), 1)
  })

  it('a second run evicts the next prefix and raises the floor further', async (t) => {
    const { te, setNow } = engineWithClock(t)
    const feed = messagesOf(buildFeed(alice, 3))
    await ingestAt(te, setNow, [
      [at(feed, 0), T0],
      [at(feed, 1), T1],
      [at(feed, 2), T1 + 10],
    ])
    assert.equal(te.store.evictReceivedBefore(T1)[0]?.floorSequence, 1)
    assert.equal(te.store.evictReceivedBefore(T1 + 1)[0]?.floorSequence, 2)
    assert.deepEqual(te.store.floorOf(alice.id), { sequence: 2, hash: at(feed, 1).hash })
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => r.sequence),
      [3],
    )
  })
})
