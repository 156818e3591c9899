/**
 * Ed25519 verification off the main thread. Ingest verifies batches of signatures on worker
 * threads while the main thread parses, hashes and writes SQLite, so the two overlap (issue #2).
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { verify } from './ed25519.js'

/** One signature to check. `message` is what was signed (for messages: the ASCII hex hash). */
export interface VerifyItem {
  readonly publicKey: Uint8Array
  readonly message: Uint8Array
  readonly signature: Uint8Array
}

/** Verifies batches of signatures; results are in input order. Never rejects for bad input. */
export interface SignatureVerifier {
  verifyMany(items: readonly VerifyItem[]): Promise<boolean[]>
  close(): Promise<void>
}

/** Verify on the calling thread (tests, tiny batches, or when threads are unavailable). */
export function createInlineVerifier(): SignatureVerifier {
  return {
    verifyMany: (items) =>
      Promise.resolve(items.map((i) => verify(i.publicKey, i.message, i.signature))),
    close: () => Promise.resolve(),
  }
}

// The worker body is plain CommonJS so it runs the same under tsx and from dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const sodium = require(workerData.sodiumPath)
parentPort.on('message', ({ id, buf, count }) => {
  const bytes = new Uint8Array(buf)
  const view = new DataView(buf)
  const out = new Uint8Array(count)
  let p = 0
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(p); p += 4
    const pk = bytes.subarray(p, p + 32); p += 32
    const sig = bytes.subarray(p, p + 64); p += 64
    const msg = bytes.subarray(p, p + len); p += len
    try { out[i] = sodium.crypto_sign_verify_detached(sig, msg, pk) ? 1 : 0 } catch { out[i] = 0 }
  }
  parentPort.postMessage({ id, out }, [out.buffer])
})
`

interface Pending {
  resolve: (out: Uint8Array) => void
  reject: (err: Error) => void
}

/** Options for the worker pool. */
export interface VerifierPoolOptions {
  /** Worker threads (default 1). */
  threads?: number
  /** Batches smaller than this are verified inline, saving a thread round trip (default 4). */
  inlineBelow?: number
}

/** A pool of verification threads. Falls back to inline verification if a worker dies. */
export function createVerifierPool(options: VerifierPoolOptions = {}): SignatureVerifier {
  const threads = Math.max(1, options.threads ?? 1)
  const inlineBelow = options.inlineBelow ?? 4
  const sodiumPath = createRequire(import.meta.url).resolve('sodium-native')
  const pending = new Map<number, Pending>()
  let nextId = 0
  let broken = false
  const workers: Worker[] = []
  for (let i = 0; i < threads; i++) {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodiumPath } })
    w.unref()
    w.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
      const job = pending.get(id)
      pending.delete(id)
      if (pending.size === 0) for (const x of workers) x.unref()
      job?.resolve(out)
    })
    const fail = (err: Error): void => {
      broken = true
      for (const job of pending.values()) job.reject(err)
      pending.clear()
    }
    w.on('error', fail)
    w.on('exit', () => fail(new Error('verification worker exited')))
    workers.push(w)
  }
  const inline = createInlineVerifier()
  let turn = 0

  const runChunk = (items: readonly VerifyItem[]): Promise<Uint8Array> => {
    let size = 0
    for (const it of items) size += 100 + it.message.length
    const buf = new ArrayBuffer(size)
    const bytes = new Uint8Array(buf)
    const view = new DataView(buf)
    let p = 0
    for (const it of items) {
      view.setUint32(p, it.message.length)
      p += 4
      // Wrong-sized keys or signatures are invalid; zero bytes make the worker's check fail.
      if (it.publicKey.length === 32) bytes.set(it.publicKey, p)
      p += 32
      if (it.signature.length === 64) bytes.set(it.signature, p)
      p += 64
      bytes.set(it.message, p)
      p += it.message.length
    }
    const id = nextId++
    const worker = workers[turn++ % workers.length] as Worker
    return new Promise<Uint8Array>((resolve, reject) => {
      pending.set(id, { resolve, reject })
      for (const x of workers) x.ref()
      worker.postMessage({ id, buf, count: items.length }, [buf])
    })
  }

  return {
    async verifyMany(items) {
      if (broken || items.length < inlineBelow) return inline.verifyMany(items)
      const checkable = items.map((it) => it.publicKey.length === 32 && it.signature.length === 64)
      const per = Math.ceil(items.length / workers.length)
      const chunks: Promise<Uint8Array>[] = []
      for (let i = 0; i < items.length; i += per) {
        const chunk = items.slice(i, i + per)
        // A worker that dies mid-batch must not fail the batch: verify it here instead.
        chunks.push(
          runChunk(chunk).catch(() =>
            Uint8Array.from(chunk, (it) =>
              verify(it.publicKey, it.message, it.signature) ? 1 : 0,
            ),
          ),
        )
      }
      const results = await Promise.all(chunks)
      const out: boolean[] = []
      for (const r of results) for (const v of r) out.push(v === 1)
      return out.map((v, i) => v && (checkable[i] as boolean))
    },
    async close() {
      broken = true
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}
