/** One push link (§4.7.2–4.7.4) against a scripted peer over an in-memory channel. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { IngestResult, Message } from '../../../src/feed/index.js'
import { silentLogger } from '../../../src/log.js'
import { startPushLink, type GossipMessage } from '../../../src/replication/index.js'
import { channelPair } from '../../helpers/channels.js'
import { buildFeed, testIdentity } from '../../helpers/feeds.js'

const feed = buildFeed(testIdentity(7), 40)
const texts = feed.map((s) => s.wireText)

function setup(options: { queueLimit?: number; keepaliveMs?: number; passes?: boolean } = {}) {
  const [ours, peer] = channelPair()
  const ingested: Message[][] = []
  let behind = 0
  const link = startPushLink({
    channel: ours,
    peerId: '@peer',
    ingest: (messages: readonly Message[]): Promise<IngestResult[]> => {
      ingested.push([...messages])
      return Promise.resolve(messages.map(() => ({ status: 'stored' }) as IngestResult))
    },
    passes: () => options.passes ?? true,
    onBehind: () => behind++,
    log: silentLogger,
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
    keepaliveMs: options.keepaliveMs ?? 60_000,
  })
  const next = async (): Promise<GossipMessage | null> => peer.receive()
  return { link, peer, next, ingested, behind: () => behind }
}

describe('push link', () => {
  it('starts with flow_control_ack{supported:false} and pushes queued messages in order', async () => {
    const { link, next } = setup()
    assert.deepEqual(await next(), {
      type: 'flow_control_ack',
      supported: false,
      initialCredits: 0,
    })
    assert.ok(link.enqueue(texts[0]!))
    assert.ok(link.enqueue(texts[1]!))
    const first = await next()
    const second = await next()
    assert.equal(first?.type === 'push' && first.message.wireText, texts[0])
    assert.equal(second?.type === 'push' && second.message.wireText, texts[1])
    link.stop()
  })

  it('ingests received pushes with the peer as origin, and drops authors the filter refuses', async () => {
    const s = setup()
    await s.next()
    await s.peer.send({ type: 'push', message: { wireText: texts[0]! } })
    await s.peer.send({ type: 'push', message: { wireText: texts[1]! } })
    await s.peer.send({ type: 'credit_grant', amount: 0 }) // a keepalive: ignored
    await s.peer.send({ type: 'have', feeds: [], peerObservations: [], subscribedTopics: [] })
    s.peer.close()
    assert.equal(await s.link.ended, null)
    assert.deepEqual(
      s.ingested.flat().map((m) => m.sequence),
      [1, 2],
    )
    assert.equal(s.link.stats.received, 2)

    const refused = setup({ passes: false })
    await refused.next()
    await refused.peer.send({ type: 'push', message: { wireText: texts[0]! } })
    refused.peer.close()
    await refused.link.ended
    assert.equal(refused.ingested.length, 0)
    assert.equal(refused.link.stats.received, 1)
  })

  it('answers credit_request with min(suggested, 50)', async () => {
    const s = setup()
    await s.next()
    await s.peer.send({ type: 'credit_request', suggested: 100 })
    assert.deepEqual(await s.next(), { type: 'credit_grant', amount: 50 })
    await s.peer.send({ type: 'credit_request', suggested: 3 })
    assert.deepEqual(await s.next(), { type: 'credit_grant', amount: 3 })
    s.link.stop()
  })

  it('honours credits only for a peer that announced them, and asks for more below 20', async () => {
    const s = setup()
    await s.next()
    await s.peer.send({ type: 'flow_control_ack', supported: true, initialCredits: 21 })
    // wait until the link has processed the ack: its reply to a credit_request comes after it
    await s.peer.send({ type: 'credit_request', suggested: 1 })
    assert.deepEqual(await s.next(), { type: 'credit_grant', amount: 1 })
    const accepted = texts.slice(0, 25).map((w) => s.link.enqueue(w))
    assert.deepEqual(
      accepted.map((a, i) => (a ? i : -1)).filter((i) => i >= 0).length,
      21,
      'one push per credit',
    )
    const docs: GossipMessage[] = []
    for (let i = 0; i < 22; i++) docs.push((await s.next())!)
    const requests = docs.filter((d) => d.type === 'credit_request')
    assert.deepEqual(requests, [{ type: 'credit_request', suggested: 100 }], 'exactly one request')
    assert.equal(docs.filter((d) => d.type === 'push').length, 21)
    assert.equal(s.link.stats.dropped, 4)
    s.link.stop()
  })

  it('drops pushes beyond the queue limit and reports the link behind once', () => {
    const s = setup({ queueLimit: 5 })
    // the first push starts the pump at once; the next five fill the queue; the rest are dropped
    const results = texts.slice(0, 20).map((w) => s.link.enqueue(w))
    assert.equal(results.filter(Boolean).length, 6)
    assert.equal(s.behind(), 1)
    assert.equal(s.link.stats.dropped, 14)
    s.link.stop()
  })

  it('sends a keepalive credit_grant{amount:0} after outbound silence', async () => {
    // The link's timer is unref'd (a real socket keeps the process alive); hold it here instead.
    const hold = setInterval(() => undefined, 1000)
    const s = setup({ keepaliveMs: 40 })
    assert.equal((await s.next())?.type, 'flow_control_ack')
    assert.deepEqual(await s.next(), { type: 'credit_grant', amount: 0 })
    s.link.stop()
    clearInterval(hold)
  })

  it('a decode error or an unknown document ends the link with the error', async () => {
    const s = setup()
    await s.next()
    s.peer.fail(new Error('bad frame'))
    const err = await s.link.ended
    assert.match(String(err?.message), /bad frame/)
  })
})
