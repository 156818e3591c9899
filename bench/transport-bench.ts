/**
 * Issue #4 figures: box-stream throughput over loopback with 4 KiB payloads beside the raw
 * XChaCha20-Poly1305 rate of sodium-native in the same run; handshakes per second on one machine.
 */
import { Worker } from 'node:worker_threads'
import sodium from 'sodium-native'
import {
  createBoxEncryptor,
  deriveNetworkKey,
  encodeMessageInto,
  identityFromSeed,
  messageWireLength,
} from '../src/crypto/index.js'
import {
  createFrameDecoder,
  dialSecure,
  listenSecure,
  type SecureConnection,
} from '../src/net/index.js'
import type { Figure } from './feed-bench.js'
import { fmt, nowMs } from './util.js'

const NETWORK_KEY = deriveNetworkKey('egregore-bench')
const SERVER = identityFromSeed(new Uint8Array(32).fill(2))
const CLIENT = identityFromSeed(new Uint8Array(32).fill(1))
const MB = 1e6

/** XChaCha20-Poly1305 encryption of `payloadBytes` buffers, one thread, in MB/s of plaintext. */
function rawAeadRate(payloadBytes: number, totalBytes: number): number {
  const key = new Uint8Array(32).fill(7)
  const nonce = new Uint8Array(24)
  const message = new Uint8Array(payloadBytes).fill(0x61)
  const out = new Uint8Array(payloadBytes + 16)
  const rounds = Math.ceil(totalBytes / payloadBytes)
  const t0 = nowMs()
  for (let i = 0; i < rounds; i++) {
    nonce[0] = i & 0xff
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, message, null, null, nonce, key)
  }
  return (rounds * payloadBytes) / MB / ((nowMs() - t0) / 1000)
}

/** Bytes of `payloadBytes` buffers one thread encrypts in `ms`. */
function rawAeadFor(payloadBytes: number, ms: number): number {
  const key = new Uint8Array(32).fill(7)
  const nonce = new Uint8Array(24)
  const message = new Uint8Array(payloadBytes)
  const out = new Uint8Array(payloadBytes + 16)
  let n = 0
  const end = nowMs() + ms
  while (nowMs() < end) {
    for (let i = 0; i < 64; i++) {
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, message, null, null, nonce, key)
    }
    n += 64
  }
  return n * payloadBytes
}

/** Total raw AEAD rate (MB/s) with this thread and a worker encrypting at the same time. */
async function parallelRawRate(payloadBytes: number, ms: number): Promise<number> {
  const sodiumPath = new URL('../node_modules/sodium-native/index.js', import.meta.url).pathname
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const sodium = require(workerData.sodiumPath)
    const key = new Uint8Array(32), nonce = new Uint8Array(24)
    const m = new Uint8Array(workerData.payloadBytes), out = new Uint8Array(m.length + 16)
    parentPort.postMessage('started')
    let n = 0
    const end = performance.now() + workerData.ms
    while (performance.now() < end) {
      for (let i = 0; i < 64; i++) sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, m, null, null, nonce, key)
      n += 64
    }
    parentPort.postMessage(n * m.length)`
  const worker = new Worker(source, { eval: true, workerData: { sodiumPath, payloadBytes, ms } })
  try {
    const theirs = new Promise<number>((resolve, reject) => {
      worker.on('message', (m: unknown) => {
        if (typeof m === 'number') resolve(m) // the other message is 'started'
      })
      worker.once('error', reject)
    })
    await new Promise<void>((resolve) => worker.once('message', () => resolve())) // 'started'
    const mine = rawAeadFor(payloadBytes, ms)
    return (mine + (await theirs)) / MB / (ms / 1000)
  } finally {
    await worker.terminate()
  }
}

/** A worker running a TypeScript file (tsx's loader is registered inside the worker). */
function tsWorker(file: URL, data: unknown): Worker {
  const source = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(file.href)}) })`
  return new Worker(source, { eval: true, workerData: data })
}

/** Run one job of transport-bench-worker.ts; resolves with its result. */
async function runWorker(job: Record<string, unknown>): Promise<number> {
  const worker = tsWorker(new URL('./transport-bench-worker.ts', import.meta.url), job)
  try {
    return await new Promise<number>((resolve, reject) => {
      worker.once('message', (n: number) => resolve(n))
      worker.once('error', reject)
    })
  } finally {
    await worker.terminate()
  }
}

async function drain(
  conn: SecureConnection,
): Promise<{ bytes: number; firstMs: number; lastMs: number }> {
  let bytes = 0
  let firstMs = 0
  let lastMs = 0
  for await (const m of conn) {
    if (bytes === 0) firstMs = nowMs()
    bytes += m.length
    lastMs = nowMs()
  }
  return { bytes, firstMs, lastMs }
}

/** Received MB/s over a real loopback secure connection; the sender runs on a worker thread. */
async function boxStreamRate(payloadBytes: number, totalBytes: number): Promise<number> {
  let result: Promise<{ bytes: number; firstMs: number; lastMs: number }> | null = null
  const server = await listenSecure({
    host: '127.0.0.1',
    port: 0,
    identity: SERVER,
    networkKey: NETWORK_KEY,
    onConnection: (conn) => {
      result = drain(conn)
    },
  })
  try {
    await runWorker({ kind: 'send', port: server.address().port, totalBytes, payloadBytes })
    if (result === null) throw new Error('no connection reached the server')
    const r = await (result as Promise<{ bytes: number; firstMs: number; lastMs: number }>)
    if (r.bytes < totalBytes) throw new Error(`received ${r.bytes} of ${totalBytes} bytes`)
    return r.bytes / MB / ((r.lastMs - r.firstMs) / 1000)
  } finally {
    await server.close()
  }
}

/** Median of 3 measured runs after one warm-up run (JIT, socket buffers), with the range. */
async function boxStreamRates(
  payloadBytes: number,
  totalBytes: number,
): Promise<{ median: number; min: number; max: number }> {
  await boxStreamRate(payloadBytes, Math.min(totalBytes, 50 * MB))
  const runs: number[] = []
  for (let i = 0; i < 3; i++) runs.push(await boxStreamRate(payloadBytes, totalBytes))
  runs.sort((a, b) => a - b)
  return { median: runs[1] as number, min: runs[0] as number, max: runs[2] as number }
}

/**
 * The box-stream codec alone on this thread, no sockets: MB/s of payload encrypted into frames
 * and decrypted back (what one side of a connection costs at least).
 */
function codecRates(payloadBytes: number, totalBytes: number): { encode: number; decode: number } {
  const keys = { key: new Uint8Array(32).fill(3), nonce: new Uint8Array(24) }
  const payload = new Uint8Array(payloadBytes).fill(0x61)
  const count = Math.ceil(totalBytes / payloadBytes)
  const wire = messageWireLength(payloadBytes)
  const measure = (): { encode: number; decode: number } => {
    const encryptor = createBoxEncryptor(keys)
    const buffers: Uint8Array[] = []
    let buffer = new Uint8Array(64 * 1024)
    let at = 0
    const t0 = nowMs()
    for (let i = 0; i < count; i++) {
      if (buffer.length - at < wire) {
        buffers.push(buffer.subarray(0, at))
        buffer = new Uint8Array(64 * 1024)
        at = 0
      }
      at = encodeMessageInto(encryptor, payload, buffer, at)
    }
    buffers.push(buffer.subarray(0, at))
    const t1 = nowMs()
    const decoder = createFrameDecoder(keys)
    let received = 0
    for (const b of buffers) {
      decoder.push(b)
      decoder.decode((m) => (received += m.length))
    }
    const t2 = nowMs()
    if (received !== count * payloadBytes) throw new Error('codec round trip lost bytes')
    const mb = (count * payloadBytes) / MB
    return { encode: mb / ((t1 - t0) / 1000), decode: mb / ((t2 - t1) / 1000) }
  }
  measure() // warm-up
  return measure()
}

/** A server that drops every connection once its handshake completes. */
function handshakeServer(concurrency: number): ReturnType<typeof listenSecure> {
  return listenSecure({
    host: '127.0.0.1',
    port: 0,
    identity: SERVER,
    networkKey: NETWORK_KEY,
    maxConnections: concurrency * 2,
    onConnection: (conn) => conn.destroy(),
  })
}

/** Complete handshakes per second; dialers on this thread or on a worker thread. */
async function handshakeRate(
  durationMs: number,
  concurrency: number,
  worker: boolean,
): Promise<number> {
  const server = await handshakeServer(concurrency)
  const port = server.address().port
  const t0 = nowMs()
  try {
    if (worker) {
      const done = await runWorker({ kind: 'dial', port, durationMs, concurrency })
      return done / ((nowMs() - t0) / 1000)
    }
    let done = 0
    const deadline = t0 + durationMs
    const dialer = async (): Promise<void> => {
      while (nowMs() < deadline) {
        const conn = await dialSecure({
          host: '127.0.0.1',
          port,
          identity: CLIENT,
          networkKey: NETWORK_KEY,
        })
        done++
        conn.destroy()
      }
    }
    await Promise.all(Array.from({ length: concurrency }, dialer))
    return done / ((nowMs() - t0) / 1000)
  } finally {
    await server.close()
  }
}

/**
 * Run the transport figures. `only` = 'throughput' or 'handshake' runs one section. Sizes can be
 * shrunk with BENCH_TRANSPORT_MB (default 200).
 */
export async function runTransportBenchmarks(only?: string): Promise<Figure[]> {
  const figures: Figure[] = []
  const totalBytes = Number(process.env['BENCH_TRANSPORT_MB'] ?? 200) * MB
  if (only === undefined || only === 'throughput') {
    rawAeadRate(4096, 50 * MB) // warm-up
    const raw = rawAeadRate(4096, Math.min(totalBytes, 400 * MB))
    for (const payload of [4096, 4095]) {
      const stream = await boxStreamRates(payload, totalBytes)
      const frames = payload === 4096 ? '2 frames (4095 + 1) per message' : '1 frame per message'
      figures.push({
        name: `Box stream throughput, loopback TCP, ${payload}-byte payloads, ${frames} (${fmt(totalBytes / MB)} MB, sender on a worker thread, median of 3 after a warm-up)`,
        value: `${fmt(stream.median)} MB/s received (${fmt(stream.min)}–${fmt(stream.max)}) = ${fmt(stream.median / raw, 2)}× raw XChaCha20-Poly1305 (${fmt(raw)} MB/s on 4096-byte buffers, sodium-native, one thread, same run)`,
        ...(payload === 4096 ? { target: '≥ 0.5× raw' } : {}),
      })
    }
    const codec = codecRates(4096, Math.min(totalBytes, 200 * MB))
    figures.push({
      name: 'Box-stream codec alone, 4096-byte payloads, one thread, no sockets (the least one side of a connection costs)',
      value: `encrypt into frames ${fmt(codec.encode)} MB/s = ${fmt(codec.encode / raw, 2)}× raw; decrypt and reassemble ${fmt(codec.decode)} MB/s = ${fmt(codec.decode / raw, 2)}× raw`,
    })
    const parallel = await parallelRawRate(4096, 1000)
    figures.push({
      name: 'Raw XChaCha20-Poly1305 on two threads at once (how much a second core adds here)',
      value: `${fmt(parallel)} MB/s in total = ${fmt(parallel / raw, 2)}× one thread`,
    })
  }
  if (only === undefined || only === 'handshake') {
    const oneThread = await handshakeRate(3000, 16, false)
    const twoThreads = await handshakeRate(3000, 16, true)
    figures.push({
      name: 'Handshakes per second over loopback, client + server on this machine (16 concurrent dialers)',
      value: `${fmt(twoThreads)} /s with the dialers on a worker thread; ${fmt(oneThread)} /s with both ends on one thread`,
      target: '≥ 1,000/s',
    })
  }
  return figures
}
