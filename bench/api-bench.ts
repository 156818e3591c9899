/**
 * Issue #3 figures: HTTP publish throughput and latency with 16 keep-alive clients, and SSE
 * fan-out latency to 100 subscribers. The node runs as its own process (the real daemon), so the
 * load generator does not share its event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { Pool, request } from 'undici'
import type { Figure } from './feed-bench.js'
import { fmt, nowMs, percentile, tempDir } from './util.js'

async function startDaemon(dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      // DAEMON_PROF=<dir> writes a CPU profile of the daemon there (for investigating figures).
      ...(process.env['DAEMON_PROF'] === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-dir', process.env['DAEMON_PROF']]),
      '--import',
      'tsx',
      'src/bin/egregore.ts',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--log-level',
      'info', // the "node ready" line carries the bound port
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, EGREGORE_LOG: 'info' } },
  )
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const m = /"http":"127\.0\.0\.1:(\d+)"/.exec(line)
      if (m !== null) resolve(Number(m[1]))
    })
    child.on('exit', (code) => reject(new Error(`daemon exited (${String(code)})`)))
  })
  return { child, port }
}

async function stopDaemon(child: ChildProcess): Promise<void> {
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
  const timedSubscribers = 10
  const messages = Number(process.env['SSE_MSGS'] ?? 10000)
  const ratePerSec = Number(process.env['SSE_RATE'] ?? 1000)
  const sentAt = new Map<string, number>() // title → send time
  const latencies: number[] = []
  const received = new Array<number>(subscribers).fill(0)
  let allDone: () => void = () => undefined
  const done = new Promise<void>((resolve) => (allDone = resolve))
  let finished = 0
  const streams = await Promise.all(
    Array.from({ length: subscribers }, async (_, s) => {
      const res = await request(`http://127.0.0.1:${port}/v1/events`, { method: 'GET' })
      if (s >= timedSubscribers) {
        // Most subscribers only count events (raw bytes, no decoding) to keep the load
        // generator light; the timed ones parse every event.
        let carry = Buffer.alloc(0)
        res.body.on('data', (chunk: Buffer) => {
          const data = Buffer.concat([carry, chunk])
          let at = 0
          while ((at = data.indexOf('\ndata:{', at)) >= 0) {
            at += 7
            if (++received[s]! === messages && ++finished === subscribers) allDone()
          }
          carry = data.subarray(Math.max(0, data.length - 6))
        })
        return res
      }
      let buffer = ''
      res.body.setEncoding('utf8')
      res.body.on('data', (chunk: string) => {
        buffer += chunk
        let start = 0
        let end: number
        while ((end = buffer.indexOf('\n\n', start)) >= 0) {
          const t = buffer.indexOf('"title":"note ', start)
          if (t >= 0 && t < end) {
            const title = buffer.slice(t + 9, buffer.indexOf('"', t + 9))
            const sent = sentAt.get(title)
            if (sent !== undefined) latencies.push(nowMs() - sent)
            if (++received[s]! === messages && ++finished === subscribers) allDone()
          }
          start = end + 2
        }
        buffer = buffer.slice(start)
      })
      return res
    }),
  )
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 4 })
  const t0 = nowMs()
  const inflight: Promise<unknown>[] = []
  for (let i = 0; i < messages; i++) {
    const due = t0 + (i * 1000) / ratePerSec
    const wait = due - nowMs()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    sentAt.set(`note ${i}`, nowMs())
    inflight.push(
      pool
        .request({
          path: '/v1/publish',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(i),
        })
        .then((r) => r.body.text()),
    )
  }
  await Promise.all(inflight)
  const timeout = setTimeout(allDone, 30000)
  await done
  clearTimeout(timeout)
  const complete = received.every((n) => n === messages)
  latencies.sort((a, b) => a - b)
  for (const s of streams) s.body.destroy()
  await pool.close()
  await stopDaemon(child)
  dir.cleanup()
  figures.push({
    name: `SSE fan-out: ${subscribers} subscribers, ${fmt(messages)} messages published over HTTP at ${fmt(ratePerSec)}/s`,
    value: `${complete ? 'every subscriber received all' : `INCOMPLETE: min ${Math.min(...received)}`}; delivery latency (POST sent → event received, measured on ${timedSubscribers} of them) p50 ${fmt(percentile(latencies, 50), 2)} ms, p90 ${fmt(percentile(latencies, 90), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms, max ${fmt(latencies.at(-1) ?? NaN, 2)} ms`,
    target: 'all received, p99 ≤ 50 ms',
  })
}

export async function runApiBenchmarks(only: string | undefined): Promise<Figure[]> {
  const figures: Figure[] = []
  if (only === undefined || only === 'http') await benchHttpPublish(figures)
  if (only === undefined || only === 'sse') await benchSseFanout(figures)
  return figures
}
