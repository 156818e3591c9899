/**
 * Issue #3 figures: HTTP publish throughput and latency with 16 keep-alive clients, and SSE
 * fan-out latency to 100 subscribers. The node runs as its own process (the real daemon), so the
 * load generator does not share its event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { Worker } from 'node:worker_threads'
import { Pool } from 'undici'
import type { Figure } from './feed-bench.js'
import { fmt, nowMs, percentile, tempDir } from './util.js'

/** The real daemon as a child process on ephemeral ports; resolves with its HTTP port. */
export async function startDaemon(
  dataDir: string,
  extraArgs: readonly string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      // DAEMON_NODE_FLAGS, e.g. "--cpu-prof --trace-gc", to investigate a figure.
      ...(process.env['DAEMON_NODE_FLAGS']?.split(' ').filter((f) => f !== '') ?? []),
      'dist/bin/egregore.js', // what `npm start` runs; bench/index.ts builds it first
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--gossip-port',
      '0',
      '--gossip-bind',
      '127.0.0.1',
      '--log-level',
      'info', // the "node ready" line carries the bound port
      ...extraArgs,
    ],
    {
      stdio: ['ignore', process.env['DAEMON_STDOUT'] === undefined ? 'ignore' : 'inherit', 'pipe'],
      env: { ...process.env, EGREGORE_LOG: 'info' },
    },
  )
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (process.env['DAEMON_LOG'] !== undefined) console.error(line) // investigating a figure
      const m = /"http":"127\.0\.0\.1:(\d+)"/.exec(line)
      if (m !== null) resolve(Number(m[1]))
    })
    child.on('exit', (code) => reject(new Error(`daemon exited (${String(code)})`)))
  })
  return { child, port }
}

export async function stopDaemon(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

const body = (i: number): string =>
  JSON.stringify({
    content: {
      type: 'insight',
      title: `note ${i}`,
      observation: `benchmark message number ${i} about gossip`,
    },
  })

async function benchHttpPublish(figures: Figure[]): Promise<void> {
  const dir = tempDir('http')
  const { child, port } = await startDaemon(dir.path)
  const clients = 16
  const total = 30000
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: clients, pipelining: 1 })
  const latencies: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++
      const t = nowMs()
      const res = await pool.request({
        path: '/v1/publish',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(i),
      })
      await res.body.text()
      if (res.statusCode !== 201) throw new Error(`publish answered ${res.statusCode}`)
      latencies.push(nowMs() - t)
    }
  }
  // Warm up connections and JIT, then measure.
  await Promise.all(Array.from({ length: clients }, worker))
  latencies.length = 0
  next = 0
  const t0 = nowMs()
  await Promise.all(Array.from({ length: clients }, worker))
  const rate = total / ((nowMs() - t0) / 1000)
  latencies.sort((a, b) => a - b)
  await pool.close()
  await stopDaemon(child)
  dir.cleanup()
  figures.push({
    name: `HTTP POST /v1/publish, ${clients} keep-alive clients (node in its own process), ${fmt(total)} requests`,
    value: `${fmt(rate)} publishes/s; latency p50 ${fmt(percentile(latencies, 50), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms`,
    target: '≥ 6,000/s with p99 ≤ 20 ms',
  })
}

async function benchSseFanout(figures: Figure[]): Promise<void> {
  const dir = tempDir('sse')
  const { child, port } = await startDaemon(dir.path)
  const subscribers = Number(process.env['SSE_SUBS'] ?? 100)
  const messages = Number(process.env['SSE_MSGS'] ?? 10000)
  const ratePerSec = Number(process.env['SSE_RATE'] ?? 1000)
  const timed = 10
  // The first messages warm up the daemon's JIT and the subscribers; they are delivered and
  // counted but not timed (steady state is what a long-running node sees).
  const warmup = Number(process.env['SSE_WARMUP'] ?? 3000)
  const total = warmup + messages
  // Subscribers run on a worker thread (own event loop and heap) so the publisher's work does
  // not distort delivery times; each message carries its absolute send time.
  const worker = new Worker(new URL('./sse-subscribers-worker.mjs', import.meta.url), {
    workerData: { port, subscribers, timed, messages: total },
  })
  const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()))
  const result = new Promise<{ latencies: number[]; received: number[] }>((resolve) =>
    worker.on('message', (m: { latencies?: number[]; received?: number[] }) => {
      if (m.latencies !== undefined && m.received !== undefined)
        resolve({ latencies: m.latencies, received: m.received })
    }),
  )
  await ready
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 4 })
  const t0 = nowMs()
  const inflight: Promise<unknown>[] = []
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / ratePerSec
    const wait = due - nowMs()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    const sentAt = i < warmup ? '0' : (performance.timeOrigin + performance.now()).toFixed(3)
    const payload = JSON.stringify({
      content: { type: 'note', text: `benchmark message ${i}`, sent_at: sentAt },
    })
    inflight.push(
      pool
        .request({
          path: '/v1/publish',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: payload,
        })
        .then((r) => r.body.text()),
    )
  }
  await Promise.all(inflight)
  const outcome = await Promise.race([
    result,
    new Promise<null>((r) => setTimeout(() => r(null), 30000)),
  ])
  await worker.terminate()
  await pool.close()
  await stopDaemon(child)
  dir.cleanup()
  if (outcome === null) {
    figures.push({
      name: 'SSE fan-out',
      value: 'INCOMPLETE: not every subscriber received every message within 30 s',
    })
    return
  }
  const latencies = outcome.latencies.sort((a, b) => a - b)
  figures.push({
    name: `SSE fan-out: ${subscribers} subscribers (on a worker thread), ${fmt(messages)} messages published over HTTP at ${fmt(ratePerSec)}/s after ${fmt(warmup)} warm-up messages`,
    value: `every subscriber received all ${fmt(total)}; delivery latency (POST sent → event received, on ${timed} subscribers) p50 ${fmt(percentile(latencies, 50), 2)} ms, p90 ${fmt(percentile(latencies, 90), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms, max ${fmt(latencies.at(-1) ?? NaN, 2)} ms`,
    target: 'all received, p99 ≤ 50 ms',
  })
}

export async function runApiBenchmarks(only: string | undefined): Promise<Figure[]> {
  const figures: Figure[] = []
  if (only === undefined || only === 'http') await benchHttpPublish(figures)
  if (only === undefined || only === 'sse') await benchSseFanout(figures)
  return figures
}
