/**
 * SQLite message store (PROTOCOL.md §6): feed queries (§6.4) ordered by the author-claimed
 * instant at nanosecond precision (§1.5), lookups, arrival order, counts, summaries, migrations.
 * Messages go in through the real feed engine.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parseTimestamp } from '../../../src/codec/index.js'
import { createInlineVerifier } from '../../../src/crypto/index.js'
import { EgregoreError } from '../../../src/errors.js'
import { createFeedEngine, type Message, type StoredMessage } from '../../../src/feed/index.js'
import { createMessageStore, openDatabase } from '../../../src/store/index.js'
import { MIGRATIONS } from '../../../src/store/schema.js'
import {
  BASE_MS,
  at,
  buildFeed,
  createTestEngine,
  messagesOf,
  signAt,
  testIdentity,
  type TestEngine,
} from '../../helpers/feeds.js'

const alice = testIdentity(0xa1)
const bob = testIdentity(0xb0)
const carol = testIdentity(0xc4)

/** Ingest messages one by one and fail unless each is stored. */
async function ingestAll(te: TestEngine, messages: readonly Message[]): Promise<void> {
  for (const m of messages) {
    const r = await te.engine.ingest(m)
    assert.equal(r.status, 'stored', `${m.author} #${m.sequence}: ${JSON.stringify(r)}`)
  }
}

const keyOf = (m: StoredMessage): string => `${m.author.slice(1, 3)}#${m.sequence}`

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'egregore-store-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('feed query (§6.4)', () => {
  it('orders newest first by the author-claimed timestamp, not by arrival', async (t) => {
    const te = createTestEngine(t)
    // Arrival order: alice's old messages last.
    const b = messagesOf(buildFeed(bob, 2, { startMs: BASE_MS + 10_000 }))
    const a = messagesOf(buildFeed(alice, 3, { startMs: BASE_MS, stepMs: 7_000 }))
    await ingestAll(te, [...b, ...a])
    // alice: +0 s, +7 s, +14 s; bob: +10 s, +11 s.
    assert.deepEqual(
      te.store.queryFeed().map((m) => [m.author, m.sequence]),
      [
        [alice.id, 3],
        [bob.id, 2],
        [bob.id, 1],
        [alice.id, 2],
        [alice.id, 1],
      ],
    )
  })

  it('breaks timestamp ties by author ascending, then sequence descending', async (t) => {
    const te = createTestEngine(t)
    const ts = '2026-02-19T20:11:44.123Z'
    const a1 = signAt(alice, { sequence: 1, timestamp: ts }).message
    const a2 = signAt(alice, { sequence: 2, previous: a1.hash, timestamp: ts }).message
    const a3 = signAt(alice, { sequence: 3, previous: a2.hash, timestamp: ts }).message
    const b1 = signAt(bob, { sequence: 1, timestamp: ts }).message
    const c1 = signAt(carol, { sequence: 1, timestamp: ts }).message
    const later = signAt(carol, {
      sequence: 2,
      previous: c1.hash,
      timestamp: '2026-02-19T20:11:44.124Z',
    }).message
    await ingestAll(te, [b1, a1, later, c1, a3, a2])
    const tied = [alice.id, bob.id, carol.id].sort()
    const expected: [string, number][] = [[carol.id, 2]]
    for (const author of tied) {
      if (author === alice.id) expected.push([alice.id, 3], [alice.id, 2], [alice.id, 1])
      else expected.push([author, 1])
    }
    assert.deepEqual(
      te.store.queryFeed().map((m) => [m.author, m.sequence]),
      expected,
    )
  })

  it('orders nanosecond timestamps of other authors correctly against millisecond ones', async (t) => {
    const te = createTestEngine(t)
    // Each author's single message; textual order of the canonical forms would be wrong
    // ('.123Z' sorts after '.1234…' as text).
    const stamps: [number, string][] = [
      [0x11, '2026-02-19T20:11:44Z'],
      [0x12, '2026-02-19T20:11:44.123Z'],
      [0x13, '2026-02-19T20:11:44.1234Z'], // → .123400Z
      [0x14, '2026-02-19T20:11:44.123456789Z'],
      [0x15, '2026-02-19T20:11:44.123456788Z'],
      [0x16, '2026-02-19T20:11:44.124Z'],
      [0x17, '2026-02-19T21:11:44.5+01:00'], // → 20:11:44.500Z
      [0x18, '2026-02-19T20:11:43.999999999Z'],
      [0x19, '2026-02-19 20:11:44.1234567891z'], // truncated → .123456789Z (tie with 0x14)
    ]
    const byAuthor = new Map<string, string>()
    const messages = stamps.map(([seed, ts]) => {
      const m = signAt(testIdentity(seed), { sequence: 1, timestamp: ts }).message
      byAuthor.set(m.author, ts)
      return m
    })
    await ingestAll(te, messages)
    const listed = te.store.queryFeed()
    const seeds = listed.map((m) => stamps.find(([, ts]) => ts === byAuthor.get(m.author))?.[0])
    const tiedPair = [testIdentity(0x14).id, testIdentity(0x19).id]
      .sort()
      .map((id) => (id === testIdentity(0x14).id ? 0x14 : 0x19))
    assert.deepEqual(seeds, [0x17, 0x16, ...tiedPair, 0x15, 0x13, 0x12, 0x11, 0x18])
    // Timestamps are stored and returned in canonical form, exactly.
    assert.deepEqual(
      listed.map((m) => m.timestamp),
      [
        '2026-02-19T20:11:44.500Z',
        '2026-02-19T20:11:44.124Z',
        '2026-02-19T20:11:44.123456789Z',
        '2026-02-19T20:11:44.123456789Z',
        '2026-02-19T20:11:44.123456788Z',
        '2026-02-19T20:11:44.123400Z',
        '2026-02-19T20:11:44.123Z',
        '2026-02-19T20:11:44Z',
        '2026-02-19T20:11:43.999999999Z',
      ],
    )
    assert.equal(parseTimestamp('2026-02-19T20:11:44.123400000Z'), '2026-02-19T20:11:44.123400Z')
    for (const m of listed) assert.ok(m.wireText.includes(`"timestamp":"${m.timestamp}"`))
  })

  it('filters by author, excluded author and content type, alone and combined', async (t) => {
    const te = createTestEngine(t)
    const kinds = ['note', 'insight', 'note']
    await ingestAll(
      te,
      messagesOf(buildFeed(alice, 3, { contentFn: (s) => ({ type: kinds[s - 1], s }) })),
    )
    await ingestAll(te, messagesOf(buildFeed(bob, 2, { contentFn: (s) => ({ type: 'note', s }) })))
    const own = await te.engine.publish({ type: 'insight', title: 't', observation: 'o' })
    const keys = (q: Parameters<typeof te.store.queryFeed>[0]): string[] =>
      te.store.queryFeed(q).map(keyOf).sort()
    const k = (id: string, s: number): string => `${id.slice(1, 3)}#${s}`
    assert.deepEqual(
      keys({ author: alice.id }),
      [k(alice.id, 1), k(alice.id, 2), k(alice.id, 3)].sort(),
    )
    assert.deepEqual(
      keys({ excludeAuthor: te.identity.id }),
      [k(alice.id, 1), k(alice.id, 2), k(alice.id, 3), k(bob.id, 1), k(bob.id, 2)].sort(),
    )
    assert.deepEqual(
      keys({ contentType: 'insight' }),
      [k(alice.id, 2), k(te.identity.id, 1)].sort(),
    )
    assert.deepEqual(keys({ contentType: 'insight', excludeAuthor: te.identity.id }), [
      k(alice.id, 2),
    ])
    assert.deepEqual(
      keys({ contentType: 'note', author: bob.id }),
      [k(bob.id, 1), k(bob.id, 2)].sort(),
    )
    assert.deepEqual(keys({ contentType: 'nothing' }), [])
    assert.deepEqual(keys({ author: testIdentity(0x77).id }), [])
    assert.equal(te.store.queryFeed({ author: te.identity.id })[0]?.wireText, own.wireText)
  })

  it('returns 50 by default, clamps the limit to 200, and pages with offset', async (t) => {
    const te = createTestEngine(t)
    const feed = messagesOf(buildFeed(alice, 230))
    const results = await te.engine.ingestMany(feed)
    assert.ok(results.every((r) => r.status === 'stored'))
    assert.equal(te.store.queryFeed().length, 50)
    assert.equal(te.store.queryFeed({ limit: 1000 }).length, 200)
    assert.equal(te.store.queryFeed({ limit: 200 }).length, 200)
    assert.equal(te.store.queryFeed({ limit: 7 }).length, 7)
    assert.deepEqual(te.store.queryFeed({ limit: 0 }), [])
    const page1 = te.store.queryFeed({ limit: 10 }).map((m) => m.sequence)
    const page2 = te.store.queryFeed({ limit: 10, offset: 10 }).map((m) => m.sequence)
    assert.deepEqual(
      page1,
      Array.from({ length: 10 }, (_, i) => 230 - i),
    )
    assert.deepEqual(
      page2,
      Array.from({ length: 10 }, (_, i) => 220 - i),
    )
    assert.deepEqual(
      te.store.queryFeed({ limit: 500, offset: 200 }).map((m) => m.sequence),
      Array.from({ length: 30 }, (_, i) => 30 - i),
    )
    assert.deepEqual(te.store.queryFeed({ offset: 230 }), [])
  })
})

describe('lookups and arrival order', () => {
  it('finds a message by hash with every stored field, and nothing for an unknown hash', async (t) => {
    let now = BASE_MS + 99_000
    const te = createTestEngine(t, { clock: { now: () => now } })
    const [m1, m2] = buildFeed(alice, 2, {
      contentFn: (s) => ({ type: s === 1 ? 'note' : 'insight', s }),
    })
    assert.ok(m1 !== undefined && m2 !== undefined)
    const r2 = await te.engine.ingest(m2.message)
    now += 1
    await te.engine.ingest(m1.message)
    const stored = te.store.messageByHash(m2.message.hash)
    assert.ok(r2.status === 'stored')
    assert.deepEqual(stored, {
      id: r2.id,
      author: alice.id,
      sequence: 2,
      hash: m2.message.hash,
      timestamp: m2.message.timestamp,
      contentType: 'insight',
      wireText: m2.wireText,
      chainValid: true, // promoted when 1 arrived
      receivedAtMs: BASE_MS + 99_000,
    })
    assert.equal(te.store.messageByHash('0'.repeat(64)), undefined)
    assert.equal(te.store.messageByHash(''), undefined)
  })

  it('lists messages since an arrival id in arrival order, with a limit', async (t) => {
    const te = createTestEngine(t)
    const a = messagesOf(buildFeed(alice, 3))
    const b = messagesOf(buildFeed(bob, 2))
    const arrival = [at(a, 2), at(b, 0), at(a, 0), at(b, 1), at(a, 1)]
    await ingestAll(te, arrival)
    const all = te.store.messagesSince(0, 100)
    assert.deepEqual(
      all.map((m) => m.hash),
      arrival.map((m) => m.hash),
    )
    const ids = all.map((m) => m.id)
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => x - y),
    )
    assert.deepEqual(
      te.store.messagesSince(at(ids, 1), 2).map((m) => m.hash),
      [at(a, 0).hash, at(b, 1).hash],
    )
    assert.deepEqual(te.store.messagesSince(at(ids, 4), 10), [])
    assert.deepEqual(
      te.events.map((e) => e.id),
      ids,
    )
  })

  it("lists an author's messages after a sequence, ascending, with a limit", async (t) => {
    const te = createTestEngine(t)
    const a = messagesOf(buildFeed(alice, 6))
    await ingestAll(te, [at(a, 5), at(a, 0), at(a, 2), at(a, 1), at(a, 4)])
    await ingestAll(te, messagesOf(buildFeed(bob, 3)))
    assert.deepEqual(
      te.store.messagesAfter(alice.id, 0, 100).map((m) => m.sequence),
      [1, 2, 3, 5, 6],
    )
    assert.deepEqual(
      te.store.messagesAfter(alice.id, 2, 2).map((m) => m.sequence),
      [3, 5],
    )
    assert.deepEqual(te.store.messagesAfter(alice.id, 6, 10), [])
    assert.deepEqual(te.store.messagesAfter(carol.id, 0, 10), [])
  })
})

describe('counts and feed summaries', () => {
  it('counts messages, feed rows and follows', async (t) => {
    const te = createTestEngine(t)
    assert.deepEqual(te.store.counts(), { messageCount: 0, feedCount: 0, followCount: 0 })
    await ingestAll(te, messagesOf(buildFeed(alice, 3)))
    await ingestAll(te, messagesOf(buildFeed(bob, 1)))
    await te.engine.publish({ type: 'note' })
    te.db.prepare('INSERT INTO follows (author) VALUES (?), (?)').run(alice.id, carol.id)
    assert.deepEqual(te.store.counts(), { messageCount: 5, feedCount: 3, followCount: 2 })
    // Rejections and duplicates change nothing.
    await te.engine.ingest(at(buildFeed(alice, 1), 0).message)
    await te.engine.ingest(signAt(carol, { sequence: 0 }).message)
    assert.deepEqual(te.store.counts(), { messageCount: 5, feedCount: 3, followCount: 2 })
  })

  it('summarises every feed by author with latest and contiguous sequence', async (t) => {
    const te = createTestEngine(t)
    const a = messagesOf(buildFeed(alice, 5))
    await ingestAll(te, [at(a, 0), at(a, 1), at(a, 4)])
    await ingestAll(te, [at(buildFeed(bob, 2), 1).message])
    await ingestAll(te, messagesOf(buildFeed(carol, 3)))
    const expected = [
      { author: alice.id, latestSequence: 5, contiguousSequence: 2 },
      { author: bob.id, latestSequence: 2, contiguousSequence: 0 },
      { author: carol.id, latestSequence: 3, contiguousSequence: 3 },
    ].sort((x, y) => (x.author < y.author ? -1 : 1))
    assert.deepEqual(te.store.feedSummaries(), expected)
    assert.equal(te.store.contiguousSequence(bob.id), 0)
    assert.equal(te.store.contiguousSequence(testIdentity(0x77).id), 0)
  })

  it('records the feed row last_seen as the stored message timestamp', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 1, timestamp: '2026-02-19T20:11:44.123456789Z' }).message
    await ingestAll(te, [m])
    const row = te.db
      .prepare('SELECT latest_sequence, last_seen FROM feeds WHERE author = ?')
      .get(alice.id)
    assert.deepEqual(row, { latest_sequence: 1, last_seen: '2026-02-19T20:11:44.123456789Z' })
  })
})

const LATEST = MIGRATIONS.length

describe('database and migrations', () => {
  it('migrates once: opening the same file again keeps data and the latest user_version', async (t) => {
    const te = createTestEngine(t, { file: true })
    assert.equal(te.db.pragma('user_version', { simple: true }), LATEST)
    assert.equal(te.db.pragma('journal_mode', { simple: true }), 'wal')
    await ingestAll(te, messagesOf(buildFeed(alice, 2)))
    // A second connection while the first is open, then a third after it closes.
    const again = openDatabase(te.path)
    assert.equal(again.pragma('user_version', { simple: true }), LATEST)
    assert.equal(createMessageStore(again).counts().messageCount, 2)
    again.close()
    const third = openDatabase(te.path)
    t.after(() => third.close())
    assert.equal(third.pragma('user_version', { simple: true }), LATEST)
    const tables = third
      .prepare(
        "SELECT name FROM sqlite_master WHERE name IN ('messages', 'messages_fts', 'feeds', 'forks')",
      )
      .all()
    assert.equal(tables.length, 4)
    assert.equal(createMessageStore(third).integrityCheck(), 'ok')
  })

  it('migration 2 replaces the whole-hash index of a version 1 file; lookups by hash still work', async (t) => {
    const te = createTestEngine(t, { file: true })
    const feed = messagesOf(buildFeed(alice, 3))
    await ingestAll(te, feed)
    // Put the file back into its version 1 shape, as an earlier egregore left it.
    te.db.exec(
      'DROP INDEX messages_hash_prefix; CREATE UNIQUE INDEX messages_hash ON messages(hash); PRAGMA user_version = 1',
    )
    const db = openDatabase(te.path)
    t.after(() => db.close())
    assert.equal(db.pragma('user_version', { simple: true }), 2)
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'messages_hash%'")
      .pluck()
      .all()
    assert.deepEqual(indexes, ['messages_hash_prefix'])
    const store = createMessageStore(db)
    for (const m of feed) assert.equal(store.messageByHash(m.hash)?.sequence, m.sequence)
    assert.equal(store.messageByHash('0'.repeat(64)), undefined)
    const held = store.heldByHash(
      feed.map(({ hash, author, sequence }) => ({ hash, author, sequence })),
    )
    assert.equal(held.size, 3)
    const plan = db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT id FROM messages WHERE substr(hash, 1, 16) = substr(?, 1, 16) AND hash = ?',
      )
      .all('a', 'a') as { detail: string }[]
    assert.match(plan.map((r) => r.detail).join(' '), /USING INDEX messages_hash_prefix/)
    assert.equal(store.integrityCheck(), 'ok')
  })

  it('keeps stored messages and chain state across closing and reopening the file', async (t) => {
    const path = join(tempDir(t), 'nested', 'egregore.db')
    const feed = messagesOf(buildFeed(alice, 3))
    const db1 = openDatabase(path)
    const engine1 = createFeedEngine({
      store: createMessageStore(db1),
      identity: bob,
      verifier: createInlineVerifier(),
    })
    await engine1.ingestMany([at(feed, 0), at(feed, 2)])
    await engine1.close()
    db1.close()
    const db2 = openDatabase(path)
    t.after(() => db2.close())
    const store2 = createMessageStore(db2)
    assert.equal(store2.contiguousSequence(alice.id), 1)
    const engine2 = createFeedEngine({
      store: store2,
      identity: bob,
      verifier: createInlineVerifier(),
    })
    t.after(() => engine2.close())
    assert.deepEqual(await engine2.ingest(at(feed, 0)), { status: 'duplicate' })
    const r = await engine2.ingest(at(feed, 1))
    assert.deepEqual(r.status === 'stored' && r.chainValid, true)
    assert.equal(store2.contiguousSequence(alice.id), 3)
  })

  it('refuses a database whose schema is newer than the code with STORE_ERROR', (t) => {
    const path = join(tempDir(t), 'egregore.db')
    const db = openDatabase(path)
    db.pragma('user_version = 99')
    db.close()
    assert.throws(
      () => openDatabase(path),
      (err: unknown) =>
        err instanceof EgregoreError && err.code === 'STORE_ERROR' && err.message.includes('newer'),
    )
  })

  it('passes the SQLite integrity check after writes', async (t) => {
    const te = createTestEngine(t, { file: true })
    await ingestAll(te, messagesOf(buildFeed(alice, 20)))
    assert.equal(te.store.integrityCheck(), 'ok')
  })
})
