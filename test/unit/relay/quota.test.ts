/** The relay's per-feed quota (PROTOCOL.md §9.5): accounting, capping, and the ingest gate. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { utf8Length } from '../../../src/codec/index.js'
import type { Logger } from '../../../src/log.js'
import { createFeedQuota, gateIngest } from '../../../src/relay/index.js'
import { at, buildFeed, createTestEngine, messagesOf, testIdentity } from '../../helpers/feeds.js'

const alice = testIdentity(0xa1)
const bob = testIdentity(0xb0)

/** A logger that keeps its lines. */
function recordingLog(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = []
  const log = {
    lines,
    debug: (_o: object, msg = '') => void lines.push({ level: 'debug', msg }),
    info: (_o: object, msg = '') => void lines.push({ level: 'info', msg }),
    warn: (_o: object, msg = '') => void lines.push({ level: 'warn', msg }),
    error: (_o: object, msg = '') => void lines.push({ level: 'error', msg }),
    child: () => log,
  }
  return log
}

describe('createFeedQuota', () => {
  it('caps a feed once its bytes reach the limit, logging once; eviction frees it', () => {
    const log = recordingLog()
    const q = createFeedQuota({ log }, { maxFeedBytes: 100, initial: new Map([[bob.id, 10]]) })
    assert.equal(q.passes(alice.id), true)
    q.add(alice.id, 60)
    q.add(alice.id, 39)
    assert.equal(q.passes(alice.id), true)
    q.add(alice.id, 1)
    assert.equal(q.passes(alice.id), false)
    q.add(alice.id, 50)
    assert.deepEqual(q.capped(), [alice.id])
    assert.equal(q.bytesOf(alice.id), 150)
    assert.equal(log.lines.filter((l) => l.level === 'warn').length, 1, 'logged once')
    q.remove(alice.id, 100)
    assert.equal(q.passes(alice.id), true)
    assert.deepEqual(q.capped(), [])
    assert.equal(log.lines.filter((l) => l.level === 'info').length, 1)
    assert.equal(q.bytesOf(bob.id), 10)
    q.remove(bob.id, 1000)
    assert.equal(q.bytesOf(bob.id), 0)
  })

  it('starts from the stored bytes: a feed already over the limit is capped at once', () => {
    const q = createFeedQuota(
      { log: recordingLog() },
      { maxFeedBytes: 100, initial: new Map([[alice.id, 500]]) },
    )
    assert.deepEqual(q.capped(), [alice.id])
  })

  it('0 means unlimited', () => {
    const q = createFeedQuota({ log: recordingLog() }, { maxFeedBytes: 0, initial: new Map() })
    q.add(alice.id, Number.MAX_SAFE_INTEGER)
    assert.equal(q.passes(alice.id), true)
    assert.throws(
      () => createFeedQuota({ log: recordingLog() }, { maxFeedBytes: -1, initial: new Map() }),
      RangeError,
    )
  })

  it('tracks what the engine stores through onMessage, in UTF-8 bytes of the wire text', async (t) => {
    const te = createTestEngine(t)
    const q = createFeedQuota({ log: recordingLog() }, { maxFeedBytes: 0, initial: new Map() })
    te.engine.onMessage((e) => q.add(e.author, utf8Length(e.wireText)))
    const feed = messagesOf(buildFeed(alice, 4, { contentFn: () => ({ type: 'note', t: 'ü' }) }))
    await te.engine.ingestMany(feed)
    await te.engine.ingestMany(feed) // duplicates are not stored, so not counted
    const stored = te.store.messagesAfter(alice.id, 0, 10)
    assert.equal(
      q.bytesOf(alice.id),
      stored.reduce((n, m) => n + Buffer.byteLength(m.wireText), 0),
    )
  })
})

describe('gateIngest', () => {
  it('drops messages of capped authors before ingest, reporting them as duplicates, in order', async (t) => {
    const te = createTestEngine(t)
    const capped = new Set<string>([bob.id])
    const gated = gateIngest(te.engine, (a) => !capped.has(a))
    const a = messagesOf(buildFeed(alice, 2))
    const b = messagesOf(buildFeed(bob, 2))
    const mixed = [at(a, 0), at(b, 0), at(a, 1), at(b, 1)]
    const results = await gated.ingestMany(mixed)
    assert.deepEqual(
      results.map((r) => r.status),
      ['stored', 'duplicate', 'stored', 'duplicate'],
    )
    assert.equal(te.store.contiguousSequence(bob.id), 0)
    capped.clear()
    assert.equal((await gated.ingest(at(b, 0))).status, 'stored')
    assert.equal(te.store.contiguousSequence(bob.id), 1)
  })
})
