/** Issue #2 figures: ingest vs raw verify rate, publish rate, search latency over 100k messages. */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { fromPlainJson, timestampFromMillis } from '../src/codec/index.js'
import { createVerifierPool, identityFromSeed, verify, type Identity } from '../src/crypto/index.js'
import { createFeedEngine, signMessage, toVerifyItem, type Message } from '../src/feed/index.js'
import { createMessageStore, openDatabase, startCheckpointer } from '../src/store/index.js'
import { fmt, nowMs, percentile, rng, sentence, tempDir, vocabulary } from './util.js'

export interface Figure {
  readonly name: string
  readonly value: string
  readonly target?: string
}

export function buildFeeds(authors: number, perAuthor: number, seed: number): Message[] {
  const random = rng(seed)
  const vocab = vocabulary(5000, random)
  const out: Message[] = []
  for (let a = 0; a < authors; a++) {
    const id: Identity = identityFromSeed(
      new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? a & 255 : i === 1 ? a >> 8 : 7)),
    )
    let previous: string | null = null
    for (let s = 1; s <= perAuthor; s++) {
      const content = fromPlainJson({
        type: 'insight',
        title: sentence(vocab.sample, random, 3, 8),
        context: null,
        observation: sentence(vocab.sample, random, 20, 60),
        evidence: null,
        guidance: null,
        confidence: 0.75,
        tags: [vocab.sample(), vocab.sample()],
      })
      const signed = signMessage(
        {
          author: id.id,
          sequence: s,
          previous,
          timestamp: timestampFromMillis(1_760_000_000_000 + s * 1000 + a),
          content,
        },
        id,
      )
      previous = signed.message.hash
      out.push(signed.message)
    }
  }
  return out
}

/** A feed engine on a fresh on-disk database, set up as the daemon does; `close` removes it. */
async function openBenchEngine(label: string, threads: number, seedByte: number) {
  const dir = tempDir(label)
  const path = join(dir.path, 'egregore.db')
  const db = openDatabase(path)
  const checkpointer = startCheckpointer(path)
  const store = createMessageStore(db)
  const verifier = createVerifierPool({ threads })
  const engine = createFeedEngine({
    store,
    identity: identityFromSeed(new Uint8Array(32).fill(seedByte)),
    verifier,
  })
  const close = async (): Promise<void> => {
    await engine.close()
    await verifier.close()
    await checkpointer.stop()
    db.close()
    dir.cleanup()
  }
  return Promise.resolve({ engine, store, close })
}

/** Interleave feeds the way a sync delivers them: author by author, in batches. */
async function benchIngest(figures: Figure[]): Promise<void> {
  const messages = buildFeeds(40, 1000, 1)
  const items = messages.map((m) => toVerifyItem(m)!)
  // Raw single-core verify rate, measured in this run on the same messages.
  const t0 = nowMs()
  for (const it of items) verify(it.publicKey, it.message, it.signature)
  const rawRate = items.length / ((nowMs() - t0) / 1000)

  const threads = Number(process.env['VERIFY_THREADS'] ?? Math.max(1, availableParallelism() - 1))
  const { engine, close } = await openBenchEngine('ingest', threads, 9)
  const batch = 500
  const t1 = nowMs()
  const inFlight: Promise<unknown>[] = []
  let stored = 0
  for (let i = 0; i < messages.length; i += batch) {
    const p = engine.ingestMany(messages.slice(i, i + batch)).then((rs) => {
      for (const r of rs) if (r.status === 'stored') stored++
    })
    inFlight.push(p)
    if (inFlight.length >= 3) await inFlight.shift()
  }
  await Promise.all(inFlight)
  const ingestRate = messages.length / ((nowMs() - t1) / 1000)
  if (stored !== messages.length)
    throw new Error(`ingest bench stored ${stored} of ${messages.length}`)
  await close()
  figures.push({
    name: 'raw Ed25519 verify (1 core, sodium-native)',
    value: `${fmt(rawRate)} sig/s`,
  })
  figures.push({
    name: `ingestMany: verified+stored+indexed (${threads} verify thread(s), batches of ${batch})`,
    value: `${fmt(ingestRate)} msg/s = ${fmt(ingestRate / rawRate, 2)}× raw verify`,
    target: '≥ 0.8× raw verify',
  })
}

async function benchPublish(figures: Figure[]): Promise<void> {
  const { engine, close } = await openBenchEngine('publish', 1, 3)
  const content = (i: number) =>
    fromPlainJson({
      type: 'insight',
      title: `observation ${i}`,
      observation: `the quick brown fox number ${i} jumps over the lazy dog`,
    })
  const sequential = 5000
  let t = nowMs()
  for (let i = 0; i < sequential; i++) await engine.publish(content(i))
  const seqRate = sequential / ((nowMs() - t) / 1000)
  const callers = 16
  const perCaller = 2500
  t = nowMs()
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; i < perCaller; i++) await engine.publish(content(c * perCaller + i))
    }),
  )
  const concRate = (callers * perCaller) / ((nowMs() - t) / 1000)
  await close()
  figures.push({
    name: 'publish, sequential (each awaited, durable on return)',
    value: `${fmt(seqRate)} msg/s`,
  })
  figures.push({
    name: `publish, ${callers} concurrent callers`,
    value: `${fmt(concRate)} msg/s`,
    target: '≥ 10,000/s',
  })
}

async function benchSearch(figures: Figure[]): Promise<void> {
  const total = 100_000
  const messages = buildFeeds(100, total / 100, 2)
  const { engine, store, close } = await openBenchEngine(
    'search',
    Math.max(1, availableParallelism() - 1),
    4,
  )
  for (let i = 0; i < messages.length; i += 1000)
    await engine.ingestMany(messages.slice(i, i + 1000))
  const random = rng(3)
  const vocab = vocabulary(5000, rng(2)) // same words as the corpus
  const pick = (): string => vocab.words[Math.floor(random() * 2000)] as string
  const queries: string[] = []
  for (let i = 0; i < 1000; i++) {
    const kind = i % 4
    if (kind === 0) queries.push(pick())
    else if (kind === 1) queries.push(`${pick()} ${pick()}`)
    else if (kind === 2) queries.push(`"${vocab.sample()} ${vocab.sample()}"`)
    else queries.push(`${pick().slice(0, 4)}*`)
  }
  for (const q of queries.slice(0, 50)) store.search({ text: q }) // warm the page cache
  const latencies: number[] = []
  let hits = 0
  for (const q of queries) {
    const t = nowMs()
    hits += store.search({ text: q, limit: 20 }).length
    latencies.push(nowMs() - t)
  }
  latencies.sort((a, b) => a - b)
  await close()
  figures.push({
    name: `search over ${fmt(total)} messages (${queries.length} queries: words, pairs, phrases, prefixes; ${fmt(hits / queries.length, 1)} hits avg)`,
    value: `p50 ${fmt(percentile(latencies, 50), 2)} ms, p95 ${fmt(percentile(latencies, 95), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms`,
    target: 'p95 ≤ 20 ms',
  })
}

export async function runFeedBenchmarks(only: string | undefined): Promise<Figure[]> {
  const figures: Figure[] = []
  if (only === undefined || only === 'ingest') await benchIngest(figures)
  if (only === undefined || only === 'publish') await benchPublish(figures)
  if (only === undefined || only === 'search') await benchSearch(figures)
  return figures
}
