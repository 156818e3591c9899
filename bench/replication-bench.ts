/**
 * Issue #5 figures: cold sync of 100,000 messages (100 feeds × 1,000) from one peer into a fresh
 * daemon (its own process, so its peak RSS is its own), and push propagation latency between two
 * directly linked nodes.
 */
import { readFileSync } from 'node:fs'
import { fromPlainJson } from '../src/codec/index.js'
import type { MessageEvent } from '../src/feed/index.js'
import { createNode, type EgregoreNode } from '../src/node/index.js'
import { startDaemon, stopDaemon } from './api-bench.js'
import { buildFeeds, type Figure } from './feed-bench.js'
import { cpuSeconds, fmt, nowMs, peakRssMb, percentile, tempDir } from './util.js'

const NETWORK_KEY = 'egregore-bench-replication'

async function startBenchNode(label: string, peers: string[] = []): Promise<EgregoreNode> {
  const dir = tempDir(label)
  const node = await createNode({
    dataDir: dir.path,
    passphrase: false,
    port: 0,
    peers,
    gossip: {
      bind: '127.0.0.1',
      port: 0,
      networkKey: NETWORK_KEY,
      intervalSecs: 3600,
      manualSync: true,
    },
  })
  await node.start()
  const stop = node.stop.bind(node)
  return Object.assign(node, {
    stop: async () => {
      await stop()
      dir.cleanup()
    },
  })
}

async function benchColdSync(figures: Figure[]): Promise<void> {
  const feeds = 100
  const perFeed = 1000
  const total = feeds * perFeed
  console.log(`cold sync: building ${total} signed messages…`)
  const messages = buildFeeds(feeds, perFeed, 5)
  const source = await startBenchNode('cold-source')
  for (let i = 0; i < messages.length; i += 1000)
    await source.engine.ingestMany(messages.slice(i, i + 1000))
  const dir = tempDir('cold-sink')
  const sourceCpu0 = process.cpuUsage()
  const t0 = nowMs()
  const { child, port } = await startDaemon(dir.path, [
    '--network-key',
    NETWORK_KEY,
    '--peer',
    `127.0.0.1:${source.gossip!.port()}`,
  ])
  const ready = nowMs()
  let count = 0
  while (count < total) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/status`)
    const body = (await res.json()) as { data: { message_count: number } }
    count = body.data.message_count
    if (nowMs() - ready > 120_000) break
    if (count < total) await new Promise((r) => setTimeout(r, 20))
  }
  const done = nowMs()
  const rss = peakRssMb(child.pid!)
  const sinkCpu = cpuSeconds(child.pid!)
  const sourceCpuUs = process.cpuUsage(sourceCpu0)
  const sourceCpu = (sourceCpuUs.user + sourceCpuUs.system) / 1e6
  if (process.env['BENCH_RSS_DETAIL'] !== undefined)
    console.log(
      readFileSync(`/proc/${child.pid!}/status`, 'utf8')
        .split('\n')
        .filter((l) => /^(Vm|Rss)/.test(l))
        .join('\n'),
    )
  await stopDaemon(child)
  await source.stop()
  dir.cleanup()
  const secs = (done - ready) / 1000
  figures.push({
    name: `cold sync: fresh daemon pulls ${total} messages (${feeds} feeds × ${perFeed}) from one peer over loopback`,
    value: `${count === total ? '' : `INCOMPLETE (${count}) `}${fmt(secs, 2)} s after the node was ready (${fmt((done - t0) / 1000, 2)} s from spawn), ${fmt(count / secs, 0)} msg/s`,
    target: '≤ 10 s',
  })
  figures.push({
    name: 'cold sync: CPU used (2 cores = 2 CPU-seconds per second)',
    value: `receiving daemon ${fmt(sinkCpu, 1)} s (all threads: ingest, verify, checkpoints), serving node ${fmt(sourceCpu, 1)} s, over ${fmt((done - t0) / 1000, 1)} s`,
  })
  figures.push({
    name: 'cold sync: peak RSS of the receiving daemon (VmHWM)',
    value: `${fmt(rss, 0)} MB`,
    target: '≤ 250 MB',
  })
}

async function benchPropagation(figures: Figure[]): Promise<void> {
  const a = await startBenchNode('prop-a')
  const b = await startBenchNode('prop-b', [`127.0.0.1:${a.gossip!.port()}`])
  await b.gossip!.syncOnce()
  await b.gossip!.waitForLink(a.identity.id)
  const pending = new Map<string, (t: number) => void>()
  const off = b.engine.onMessage((e: MessageEvent) => pending.get(e.hash)?.(nowMs()))
  const latencies: number[] = []
  const warmup = 200
  const n = 1000
  for (let i = 0; i < warmup + n; i++) {
    const start = nowMs()
    let resolveArrival: (t: number) => void = () => undefined
    const arrived = new Promise<number>((r) => (resolveArrival = r))
    const { message } = await a.engine.publish(
      fromPlainJson({ type: 'note', text: `propagation ${i}` }),
    )
    pending.set(message.hash, resolveArrival)
    const at = await arrived
    pending.delete(message.hash)
    if (i >= warmup) latencies.push(at - start)
  }
  off()
  await b.stop()
  await a.stop()
  latencies.sort((x, y) => x - y)
  figures.push({
    name: `propagation: publish on A → stored on directly linked B (push), ${n} messages after ${warmup} warm-up, both nodes in one process`,
    value: `p50 ${fmt(percentile(latencies, 50), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms, max ${fmt(latencies.at(-1) ?? NaN, 2)} ms`,
    target: 'p50 ≤ 10 ms, p99 ≤ 50 ms',
  })
}

export async function runReplicationBenchmarks(only: string | undefined): Promise<Figure[]> {
  const figures: Figure[] = []
  if (only === undefined || only === 'coldsync') await benchColdSync(figures)
  if (only === undefined || only === 'propagation') await benchPropagation(figures)
  return figures
}
