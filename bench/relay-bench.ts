/**
 * Issue #6 figures: relay fan-in/fan-out (50 nodes × 1,000 messages each, every node ends with
 * all 50,000) and push latency through the relay (A → relay → B). The relay runs as its own
 * process (`dist/bin/egregore-relay.js`), so its peak RSS and CPU are its own; the nodes share
 * the benchmark process, as the propagation figure's do.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { cpus } from 'node:os'
import { createInterface } from 'node:readline'
import { fromPlainJson, timestampFromMillis } from '../src/codec/index.js'
import type { Identity } from '../src/crypto/index.js'
import type { MessageEvent } from '../src/feed/index.js'
import { createNode, type EgregoreNode } from '../src/node/index.js'
import { createSignedRequest } from '../src/relay/index.js'
import { stopDaemon } from './api-bench.js'
import type { Figure } from './feed-bench.js'
import {
  cpuSeconds,
  fmt,
  loadAverage,
  nowMs,
  peakRssMb,
  percentile,
  rng,
  sentence,
  tempDir,
  vocabulary,
} from './util.js'

const NETWORK_KEY = 'egregore-bench-relay'

interface RelayProcess {
  readonly child: ChildProcess
  readonly httpPort: number
  readonly gossipAddress: string
  readonly identity: string
  /** Push links the relay closed because they fell behind (§4.7.3), counted from its log. */
  readonly linksFellBehind: () => number
}

/** The real relay as a child process on 127.0.0.1, ephemeral ports; resolves when it is ready. */
async function startRelay(dataDir: string): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env['DAEMON_NODE_FLAGS']?.split(' ').filter((f) => f !== '') ?? []),
      'dist/bin/egregore-relay.js', // bench/index.ts builds dist/ first
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--gossip-port',
      '0',
      '--gossip-bind',
      '127.0.0.1',
      '--network-key',
      NETWORK_KEY,
      '--log-level',
      'info', // the "relay ready" line carries the bound ports
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, EGREGORE_LOG: 'info' } },
  )
  let fellBehind = 0
  const ready = await new Promise<{ http: string; gossip: string; identity: string }>(
    (resolve, reject) => {
      // Read every line: a relay blocked on a full stderr pipe would stall the benchmark.
      createInterface({ input: child.stderr }).on('line', (line) => {
        if (process.env['DAEMON_LOG'] !== undefined) console.error(line)
        if (line.includes('push link fell behind')) fellBehind++
        if (!line.includes('relay ready')) return
        resolve(JSON.parse(line) as { http: string; gossip: string; identity: string })
      })
      child.on('exit', (code) => reject(new Error(`relay exited (${String(code)})`)))
    },
  )
  return {
    child,
    httpPort: Number(ready.http.slice(ready.http.lastIndexOf(':') + 1)),
    gossipAddress: ready.gossip,
    identity: ready.identity,
    linksFellBehind: () => fellBehind,
  }
}

/**
 * Register `identity` with the relay (§9.4), as `egregore relay register` does. `localAddress`
 * spreads nodes over loopback addresses: the relay rate-limits registrations per client IP, and
 * real agents do not share one.
 */
function registerWithRelay(
  httpPort: number,
  identity: Identity,
  localAddress = '127.0.0.1',
): Promise<void> {
  const body = JSON.stringify(
    createSignedRequest(identity, 'register', timestampFromMillis(Date.now())),
  )
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: httpPort,
        localAddress,
        path: '/v1/register',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () =>
          res.statusCode === 201
            ? resolve()
            : reject(new Error(`register answered ${String(res.statusCode)}: ${text}`)),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A node in this process with the relay as its one peer; `stop` also removes its data dir. */
async function createRelayedNode(
  label: string,
  relay: RelayProcess,
  sync: { readonly intervalSecs: number; readonly manualSync: boolean },
): Promise<EgregoreNode> {
  const dir = tempDir(label)
  const node = await createNode({
    dataDir: dir.path,
    passphrase: false,
    port: 0,
    verifyThreads: 1,
    peers: [relay.gossipAddress],
    gossip: { bind: '127.0.0.1', port: 0, networkKey: NETWORK_KEY, ...sync },
  })
  const stop = node.stop.bind(node)
  return Object.assign(node, {
    stop: async () => {
      await stop()
      dir.cleanup()
    },
  })
}

const FAN_NODES = 50
const FAN_PER_NODE = 1000
const FAN_CAP_MS = 10 * 60_000

/** Publish `n` insight-like messages of realistic size on `node`. */
async function publishMany(node: EgregoreNode, n: number, seed: number): Promise<void> {
  const random = rng(seed)
  const vocab = vocabulary(2000, random)
  for (let i = 0; i < n; i++) {
    await node.engine.publish(
      fromPlainJson({
        type: 'insight',
        title: sentence(vocab.sample, random, 3, 8),
        observation: sentence(vocab.sample, random, 10, 30),
      }),
    )
  }
}

/** Wait until every counter reaches `target` or the cap passes; prints progress. */
async function waitForDeliveries(
  received: readonly number[],
  target: number,
  startMs: number,
  progress: () => string,
): Promise<boolean> {
  let lastPrint = nowMs()
  for (;;) {
    if (received.every((n) => n >= target)) return true
    if (nowMs() - startMs > FAN_CAP_MS) return false
    if (nowMs() - lastPrint > 15_000) {
      lastPrint = nowMs()
      console.log(`relayfan: ${fmt((nowMs() - startMs) / 1000, 0)} s: ${progress()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function benchRelayFan(figures: Figure[]): Promise<void> {
  const relayDir = tempDir('relay-fan')
  const relay = await startRelay(relayDir.path)
  const total = FAN_NODES * FAN_PER_NODE
  const perNode = total - FAN_PER_NODE // what each node must receive
  // What a deployment runs: every node syncs with the relay every second (--gossip-interval-secs 1)
  // and keeps a push link; catch-up and re-syncs after dropped links come from the sync loop.
  const nodes: EgregoreNode[] = []
  for (let i = 0; i < FAN_NODES; i++)
    nodes.push(
      await createRelayedNode(`relay-fan-${i}`, relay, { intervalSecs: 1, manualSync: false }),
    )
  for (const [i, node] of nodes.entries())
    await registerWithRelay(relay.httpPort, node.identity, `127.0.0.${2 + Math.floor(i / 5)}`)
  console.log(`relayfan: ${FAN_NODES} nodes publish ${FAN_PER_NODE} messages each…`)
  for (const [i, node] of nodes.entries()) await publishMany(node, FAN_PER_NODE, 100 + i)
  const received = nodes.map(() => 0)
  const offs = nodes.map((node, i) =>
    node.engine.onMessage((e: MessageEvent) => {
      if (e.author !== node.identity.id) received[i]!++
    }),
  )
  const loadBefore = loadAverage()
  const relayCpu0 = cpuSeconds(relay.child.pid!)
  const benchCpu0 = process.cpuUsage()
  const t0 = nowMs()
  await Promise.all(nodes.map((n) => n.start())) // each starts its sync loop at once
  const complete = await waitForDeliveries(received, perNode, t0, () => {
    const sum = received.reduce((a, b) => a + b, 0)
    const links = nodes.reduce((a, n) => a + n.gossip!.links().length, 0)
    return `${fmt((100 * sum) / (perNode * FAN_NODES), 1)} % delivered, slowest node ${fmt(Math.min(...received))}/${fmt(perNode)}, ${links} links up, ${relay.linksFellBehind()} links closed as behind, load ${loadAverage()}`
  })
  const secs = (nowMs() - t0) / 1000
  const delivered = received.reduce((a, b) => a + b, 0)
  const relayRss = peakRssMb(relay.child.pid!)
  const relayCpu = cpuSeconds(relay.child.pid!) - relayCpu0
  const benchCpuUs = process.cpuUsage(benchCpu0)
  const loadAfter = loadAverage()
  const contiguous = nodes.filter((n) =>
    n.store.feedSummaries().every((f) => f.contiguousSequence === FAN_PER_NODE),
  ).length
  for (const off of offs) off()
  for (const node of nodes) await node.stop()
  await stopDaemon(relay.child)
  relayDir.cleanup()
  const load = `load avg ${loadBefore} before, ${loadAfter} after`
  figures.push({
    name: `relay fan-in/fan-out: ${FAN_NODES} nodes × ${fmt(FAN_PER_NODE)} messages through one relay process, every node to hold all ${fmt(total)} (sync interval 1 s, push links; nodes share this process)`,
    value: `${complete ? '' : `INCOMPLETE after ${fmt(secs, 0)} s (${fmt(delivered)} of ${fmt(perNode * FAN_NODES)} deliveries, slowest node ${fmt(Math.min(...received))}) `}${fmt(secs, 1)} s, ${fmt(delivered / secs)} deliveries/s; ${contiguous}/${FAN_NODES} nodes hold every feed contiguous; ${relay.linksFellBehind()} push links closed as behind (${load})`,
  })
  figures.push({
    name: 'relay fan-in/fan-out: relay process peak RSS (VmHWM) and CPU; CPU of the 50-node process',
    value: `relay ${fmt(relayRss, 0)} MB, ${fmt(relayCpu, 1)} CPU-s; nodes ${fmt((benchCpuUs.user + benchCpuUs.system) / 1e6, 1)} CPU-s; over ${fmt(secs, 1)} s on ${cpus().length} cores (${load})`,
  })
}

async function benchRelayLatency(figures: Figure[]): Promise<void> {
  const relayDir = tempDir('relay-latency')
  const relay = await startRelay(relayDir.path)
  const manual = { intervalSecs: 3600, manualSync: true }
  const a = await createRelayedNode('relay-latency-a', relay, manual)
  const b = await createRelayedNode('relay-latency-b', relay, manual)
  for (const node of [a, b]) {
    await registerWithRelay(relay.httpPort, node.identity)
    await node.start()
    await node.gossip!.syncOnce()
    await node.gossip!.waitForLink(relay.identity)
  }
  const pending = new Map<string, (t: number) => void>()
  const off = b.engine.onMessage((e: MessageEvent) => pending.get(e.hash)?.(nowMs()))
  const latencies: number[] = []
  const warmup = 200
  const n = 1000
  const loadBefore = loadAverage()
  for (let i = 0; i < warmup + n; i++) {
    const start = nowMs()
    let resolveArrival: (t: number) => void = () => undefined
    const arrived = new Promise<number>((r) => (resolveArrival = r))
    const { message } = await a.engine.publish(
      fromPlainJson({ type: 'note', text: `through the relay ${i}` }),
    )
    pending.set(message.hash, resolveArrival)
    const at = await arrived
    pending.delete(message.hash)
    if (i >= warmup) latencies.push(at - start)
  }
  const loadAfter = loadAverage()
  off()
  await b.stop()
  await a.stop()
  await stopDaemon(relay.child)
  relayDir.cleanup()
  latencies.sort((x, y) => x - y)
  figures.push({
    name: `relay latency: publish on A → stored on B through the relay process (push links A → relay → B), ${n} messages after ${warmup} warm-up`,
    value: `p50 ${fmt(percentile(latencies, 50), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms, max ${fmt(latencies.at(-1) ?? NaN, 2)} ms (load avg ${loadBefore} before, ${loadAfter} after)`,
    target: 'p99 ≤ 100 ms',
  })
}

export async function runRelayBenchmarks(only: string | undefined): Promise<Figure[]> {
  const figures: Figure[] = []
  if (only === undefined || only === 'relaylatency') await benchRelayLatency(figures)
  if (only === undefined || only === 'relayfan') await benchRelayFan(figures)
  return figures
}
