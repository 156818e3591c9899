/** The pull exchange between two real engines over an in-memory document channel (§4.3–4.6). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../../../src/log.js'
import {
  runPullClient,
  runPullServer,
  type DocumentChannel,
  type PullDeps,
} from '../../../src/replication/index.js'
import { channelPair } from '../../helpers/channels.js'
import { buildFeed, createTestEngine, testIdentity, type TestEngine } from '../../helpers/feeds.js'

function deps(te: TestEngine, follows: string[] = []): PullDeps {
  return {
    feeds: te.store,
    ingest: (messages, origin) => te.engine.ingestMany(messages, { origin }),
    followFilter: () => (author) =>
      follows.length === 0 || follows.includes(author) || author === te.identity.id,
    log: silentLogger,
  }
}

async function seed(te: TestEngine, seedByte: number, n: number): Promise<string> {
  const id = testIdentity(seedByte)
  const results = await te.engine.ingestMany(buildFeed(id, n).map((s) => s.message))
  assert.ok(results.every((r) => r.status === 'stored'))
  return id.id
}

async function exchange(client: TestEngine, server: TestEngine, follows: string[] = []) {
  const [c, s] = channelPair()
  const [co, so] = await Promise.all([
    runPullClient(c, deps(client, follows), server.identity.id),
    runPullServer(s, deps(server), client.identity.id),
  ])
  return { client: co, server: so }
}

describe('pull exchange', () => {
  it('copies every feed the client lacks, in both directions', async (t) => {
    const a = createTestEngine(t, { seedByte: 1 })
    const b = createTestEngine(t, { seedByte: 2 })
    const x = await seed(a, 10, 120)
    const y = await seed(b, 11, 7)
    const out = await exchange(b, a)
    assert.equal(out.client.stored, 120)
    assert.equal(out.server?.stored, 7)
    assert.equal(b.store.contiguousSequence(x), 120)
    assert.equal(a.store.contiguousSequence(y), 7)
    assert.equal(out.client.moreAvailable, false)
  })

  it('backfills a gap from the contiguous sequence; held messages come back as duplicates', async (t) => {
    const a = createTestEngine(t, { seedByte: 1 })
    const b = createTestEngine(t, { seedByte: 2 })
    const id = testIdentity(12)
    const feed = buildFeed(id, 10).map((s) => s.message)
    await a.engine.ingestMany(feed)
    await b.engine.ingestMany([...feed.slice(0, 3), ...feed.slice(5)]) // b holds 1–3, 6–10
    assert.equal(b.store.contiguousSequence(id.id), 3)
    const out = await exchange(b, a)
    assert.equal(out.client.considered, 7) // 4..10 were sent
    assert.equal(out.client.stored, 2) // 4 and 5 were new
    assert.equal(b.store.contiguousSequence(id.id), 10)
  })

  it('with follows set, requests only followed authors (and our own)', async (t) => {
    const a = createTestEngine(t, { seedByte: 1 })
    const b = createTestEngine(t, { seedByte: 2 })
    const x = await seed(a, 20, 5)
    const y = await seed(a, 21, 5)
    await exchange(b, a, [y])
    assert.equal(b.store.contiguousSequence(x), 0)
    assert.equal(b.store.contiguousSequence(y), 5)
  })

  it('the server ends quietly when the client closes right after the handshake', async (t) => {
    const a = createTestEngine(t, { seedByte: 1 })
    const closedChannel: DocumentChannel = {
      send: () => Promise.resolve(),
      receive: () => Promise.resolve(null),
    }
    assert.equal(await runPullServer(closedChannel, deps(a), 'x'), null)
  })

  it('the client fails when the server closes before its have', async (t) => {
    const b = createTestEngine(t, { seedByte: 2 })
    const closedChannel: DocumentChannel = {
      send: () => Promise.resolve(),
      receive: () => Promise.resolve(null),
    }
    await assert.rejects(runPullClient(closedChannel, deps(b), 'x'), /peer closed before have/)
  })
})
