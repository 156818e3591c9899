/**
 * Worker side of the transport figures (issue #4): either sends `totalBytes` in `payloadBytes`
 * messages to the main thread's server, or dials it in a loop for the handshake rate, so the two
 * ends run on separate cores.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { deriveNetworkKey, identityFromSeed } from '../src/crypto/index.js'
import { dialSecure } from '../src/net/index.js'

type Job =
  | {
      readonly kind: 'send'
      readonly port: number
      readonly totalBytes: number
      readonly payloadBytes: number
    }
  | {
      readonly kind: 'dial'
      readonly port: number
      readonly durationMs: number
      readonly concurrency: number
    }

const job = workerData as Job
const base = {
  host: '127.0.0.1',
  port: job.port,
  identity: identityFromSeed(new Uint8Array(32).fill(1)),
  networkKey: deriveNetworkKey('egregore-bench'),
}

async function send(totalBytes: number, payloadBytes: number): Promise<number> {
  const conn = await dialSecure(base)
  const payload = new Uint8Array(payloadBytes).fill(0x61)
  for (let sent = 0; sent < totalBytes; sent += payload.length) await conn.send(payload)
  await conn.close()
  return totalBytes
}

async function dial(durationMs: number, concurrency: number): Promise<number> {
  const deadline = performance.now() + durationMs
  let done = 0
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const conn = await dialSecure(base)
      done++
      conn.destroy()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return done
}

const result =
  job.kind === 'send'
    ? await send(job.totalBytes, job.payloadBytes)
    : await dial(job.durationMs, job.concurrency)
parentPort?.postMessage(result)
