/**
 * Receiving messages when something fails mid-exchange (PROTOCOL.md §4.6): a failing ingest
 * surfaces as the exchange's error (never as an unhandled rejection, which would end the
 * process), and messages read before a reading error are still ingested.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PULL_INGEST_BATCH } from '../../../src/codec/index.js'
import { EgregoreError } from '../../../src/errors.js'
import type { IngestResult, Message } from '../../../src/feed/index.js'
import { silentLogger } from '../../../src/log.js'
import {
  encodeGossipMessage,
  parseGossipMessage,
  receiveMessages,
  type DocumentChannel,
  type GossipMessage,
  type PullDeps,
} from '../../../src/replication/index.js'
import { buildFeed, createTestEngine, testIdentity } from '../../helpers/feeds.js'
import { guardProcess, waitFor } from '../net/net-helpers.js'

const AUTHOR = testIdentity(0x31)

/** A channel whose documents (or errors) the test hands out one by one. */
function scriptedChannel(): DocumentChannel & {
  deliver(item: GossipMessage | Error): void
  readonly waiting: () => number
} {
  const queue: (GossipMessage | Error)[] = []
  const readers: ((item: GossipMessage | Error) => void)[] = []
  return {
    send: () => Promise.resolve(),
    receive: () =>
      new Promise<GossipMessage | null>((resolve, reject) => {
        const settle = (item: GossipMessage | Error): void =>
          item instanceof Error ? reject(item) : resolve(item)
        const next = queue.shift()
        if (next === undefined) readers.push(settle)
        else settle(next)
      }),
    deliver(item) {
      const reader = readers.shift()
      if (reader === undefined) queue.push(item)
      else reader(item)
    },
    waiting: () => readers.length,
  }
}

/** A `messages` document of these messages, through the real codec. */
function messagesDoc(messages: readonly { wireText: string }[]): GossipMessage {
  return parseGossipMessage(encodeGossipMessage({ type: 'messages', messages }))
}

function depsWith(ingest: PullDeps['ingest'], feeds: PullDeps['feeds']): PullDeps {
  return { feeds, ingest, followFilter: () => () => true, log: silentLogger }
}

describe('receiving messages when something fails', () => {
  it('an ingest that fails while reading goes on ends the exchange with that error', async (t) => {
    guardProcess(t) // the failure must never escape as an unhandled rejection
    const te = createTestEngine(t)
    const total = PULL_INGEST_BATCH + 200 // one full ingest batch and then some
    const feed = buildFeed(AUTHOR, total)
    let fail: (err: Error) => void = () => undefined
    let calls = 0
    const ingest = (): Promise<IngestResult[]> => {
      calls++
      return new Promise((_resolve, reject) => (fail = reject))
    }
    const channel = scriptedChannel()
    const receiving = receiveMessages(
      channel,
      new Set([AUTHOR.id]),
      depsWith(ingest, te.store),
      'p',
    )
    for (let i = 0; i < total; i += 200) channel.deliver(messagesDoc(feed.slice(i, i + 200)))
    // the pending messages went to ingest as one batch; reading goes on meanwhile
    await waitFor(() => calls === 1 && channel.waiting() === 1, { what: 'the next read' })
    fail(new EgregoreError('STORE_ERROR', 'disk full'))
    await new Promise((resolve) => setImmediate(resolve)) // an unhandled rejection would show now
    channel.deliver({ type: 'done' })
    await assert.rejects(receiving, { code: 'STORE_ERROR', message: /disk full/ })
    assert.equal(calls, 1) // nothing more is handed to a failing store
  })

  it('messages read before a decode error are ingested, then the error is reported', async (t) => {
    const te = createTestEngine(t)
    const feed = buildFeed(AUTHOR, 3)
    const ingest = (ms: readonly Message[], origin: string): Promise<IngestResult[]> =>
      te.engine.ingestMany(ms, { origin })
    const channel = scriptedChannel()
    channel.deliver(messagesDoc(feed.slice(0, 2)))
    channel.deliver(new EgregoreError('DECODE_ERROR', 'invalid JSON'))
    channel.deliver(messagesDoc(feed.slice(2))) // never read
    await assert.rejects(
      receiveMessages(channel, new Set([AUTHOR.id]), depsWith(ingest, te.store), 'p'),
      { code: 'DECODE_ERROR', message: /invalid JSON/ },
    )
    assert.equal(te.store.contiguousSequence(AUTHOR.id), 2)
    assert.equal(te.store.headOf(AUTHOR.id)?.sequence, 2)
  })
})
