/**
 * Ingest properties (STYLE.md §7, PROTOCOL.md §5): delivery order does not matter, and no
 * altered message is ever stored. Fixed seed by default; set FC_SEED to explore.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { parseJsonBytes, utf8 } from '../../src/codec/index.js'
import { isEgregoreError } from '../../src/errors.js'
import { parseMessage, type Message } from '../../src/feed/index.js'
import { at, buildFeed, chainRows, openTestEngine, testIdentity } from '../helpers/feeds.js'

const FC_SEED = Number(process.env['FC_SEED'] ?? 1)
const author = testIdentity(0x5e)
/** One feed of 30; any prefix of it is a valid feed of n messages. */
const FEED = buildFeed(author, 30, {
  contentFn: (s) => ({
    type: s % 3 === 0 ? 'insight' : 'note',
    text: `message ${s}`,
    n: s,
    f: s + 0.5,
    tags: ['x'],
  }),
})

describe('ingest properties', () => {
  it('ends with the same stored set, all chain_valid, whatever the delivery order and batching', async () => {
    const scenario = fc.integer({ min: 1, max: 30 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        order: fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: n, maxLength: n },
        ),
        // Sizes of consecutive ingestMany calls (cycled); 1 means one message at a time.
        batchSizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
        // Indexes (into the delivery order) of messages delivered a second time at the end.
        redeliver: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }),
      }),
    )
    await fc.assert(
      fc.asyncProperty(scenario, async ({ n, order, batchSizes, redeliver }) => {
        const te = openTestEngine({ engine: { maxIngestBatch: 4 } })
        try {
          const delivery = order.map((i) => at(FEED, i).message)
          const held = new Set<number>()
          let pos = 0
          let call = 0
          while (pos < delivery.length) {
            const size = at(batchSizes, call++ % batchSizes.length)
            const batch = delivery.slice(pos, pos + size)
            const results = await te.engine.ingestMany(batch)
            results.forEach((r, i) => {
              assert.equal(r.status, 'stored', JSON.stringify(r))
              // chain_valid at arrival (§5.3): every earlier sequence already held.
              const sequence = at(batch, i).sequence
              let unbroken = true
              for (let s = 1; s < sequence; s++) if (!held.has(s)) unbroken = false
              if (r.status === 'stored') assert.equal(r.chainValid, unbroken, `sequence ${sequence}`)
              held.add(sequence)
            })
            pos += size
          }
          const again = await te.engine.ingestMany(redeliver.map((i) => at(delivery, i)))
          for (const r of again) assert.deepEqual(r, { status: 'duplicate' })

          const rows = chainRows(te.db, author.id)
          assert.deepEqual(
            rows.map((r) => [r.sequence, r.hash, r.chainValid]),
            FEED.slice(0, n).map((s) => [s.message.sequence, s.message.hash, true]),
          )
          assert.equal(te.store.contiguousSequence(author.id), n)
          assert.deepEqual(te.store.feedSummaries(), [
            { author: author.id, latestSequence: n, contiguousSequence: n },
          ])
          assert.equal(te.events.length, n)
          for (const s of FEED.slice(0, n))
            assert.equal(te.store.messageByHash(s.message.hash)?.wireText, s.wireText)
        } finally {
          await te.close()
        }
      }),
      { seed: FC_SEED, numRuns: 50 },
    )
  })

  it('never stores a message whose wire text differs from the original after a byte is changed', async () => {
    const scenario = fc.record({
      index: fc.integer({ min: 0, max: 4 }),
      // Uniform position (modulo the text length), so every region is reached: keys, content,
      // timestamp, hash and signature.
      where: fc.noBias(fc.nat({ max: 1_000_000 })),
      change: fc.oneof(
        fc.record({ kind: fc.constant('xor' as const), mask: fc.integer({ min: 1, max: 255 }) }),
        fc.record({
          kind: fc.constant('set' as const),
          byte: fc.integer({ min: 0x20, max: 0x7e }),
        }),
      ),
      // Whether the rest of the feed is held, so that chain checks apply too.
      withNeighbours: fc.boolean(),
    })
    let ingested = 0
    let decodeErrors = 0
    await fc.assert(
      fc.asyncProperty(scenario, async ({ index, where, change, withNeighbours }) => {
        const original = at(FEED, index)
        const bytes = utf8(original.wireText).slice()
        const pos = where % bytes.length
        const old = at([...bytes], pos)
        const next = change.kind === 'xor' ? old ^ change.mask : change.byte
        fc.pre(next !== old)
        bytes[pos] = next
        let message: Message
        try {
          message = parseMessage(parseJsonBytes(bytes))
        } catch (err) {
          assert.ok(isEgregoreError(err, 'DECODE_ERROR'), `unexpected ${String(err)}`)
          decodeErrors++
          return
        }
        const te = openTestEngine()
        try {
          if (withNeighbours) {
            const others = FEED.slice(0, 5).filter((_, i) => i !== index)
            await te.engine.ingestMany(others.map((s) => s.message))
          }
          const result = await te.engine.ingest(message)
          ingested++
          if (result.status === 'stored') {
            // Only a change that parses back to the very same message (e.g. 'Z' → 'z' in the
            // timestamp) may be stored, and then exactly as the original.
            assert.equal(te.store.messageByHash(message.hash)?.wireText, original.wireText)
            assert.equal(message.hash, original.message.hash)
          }
        } finally {
          await te.close()
        }
      }),
      { seed: FC_SEED, numRuns: 300 },
    )
    // The generator must reach ingest, not only the JSON parser.
    assert.ok(ingested > 0, `all ${decodeErrors} variants failed to parse`)
  })
})
