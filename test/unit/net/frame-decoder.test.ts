/**
 * Incremental box-stream reader (PROTOCOL.md §3.5): phases used by the read timeout, EOF inside a
 * frame or a prefix, bytes after a goodbye, and leftover bytes handed over by the handshake.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EgregoreError } from '../../../src/errors.js'
import {
  createBoxEncryptor,
  encodeGoodbye,
  encodeMessage,
  type BoxStreamKeys,
} from '../../../src/crypto/index.js'
import { createByteQueue, createFrameDecoder } from '../../../src/net/index.js'

const keys: BoxStreamKeys = { key: new Uint8Array(32).fill(3), nonce: new Uint8Array(24).fill(4) }

describe('frame decoder', () => {
  test('phase: idle, then length (part of a prefix), then frame (prefix read)', () => {
    const wire = encodeMessage(createBoxEncryptor(keys), Uint8Array.of(1, 2, 3))
    const d = createFrameDecoder(keys)
    const got: Uint8Array[] = []
    assert.equal(d.phase, 'idle')
    d.push(wire.slice(0, 2))
    assert.equal(
      d.decode((m) => got.push(m)),
      'more',
    )
    assert.equal(d.phase, 'length')
    d.push(wire.slice(2, 10))
    d.decode((m) => got.push(m))
    assert.equal(d.phase, 'frame')
    assert.equal(d.framesRead, 0)
    d.push(wire.slice(10))
    d.decode((m) => got.push(m))
    assert.equal(d.phase, 'idle')
    assert.equal(d.framesRead, 1)
    assert.deepEqual(got, [Uint8Array.of(1, 2, 3)])
  })

  test('EOF between frames is clean; inside a prefix or a frame it is an IO_ERROR', () => {
    const wire = encodeMessage(createBoxEncryptor(keys), Uint8Array.of(9))
    const clean = createFrameDecoder(keys)
    clean.push(Uint8Array.from(wire))
    clean.decode(() => undefined)
    clean.end()
    for (const cut of [1, 3, 4, 20, wire.length - 1]) {
      const d = createFrameDecoder(keys)
      d.push(wire.slice(0, cut))
      d.decode(() => undefined)
      assert.throws(
        () => d.end(),
        (e: unknown) =>
          e instanceof EgregoreError && e.code === 'IO_ERROR' && /closed inside/.test(e.message),
      )
    }
  })

  test('nothing after a goodbye is decoded, and EOF after it is fine', () => {
    const enc = createBoxEncryptor(keys)
    const wire = [
      encodeMessage(enc, Uint8Array.of(1)),
      encodeGoodbye(enc),
      encodeMessage(enc, Uint8Array.of(2)),
    ]
    const d = createFrameDecoder(keys)
    const got: Uint8Array[] = []
    for (const w of wire) {
      d.push(Uint8Array.from(w))
      d.decode((m) => got.push(m))
    }
    d.push(Uint8Array.of(0xde, 0xad)) // garbage after the goodbye is ignored too
    assert.equal(
      d.decode((m) => got.push(m)),
      'goodbye',
    )
    d.end()
    assert.deepEqual(got, [Uint8Array.of(1)])
  })

  test('bytes queued before the decoder existed (after the handshake) are decoded first', () => {
    const enc = createBoxEncryptor(keys)
    const queue = createByteQueue()
    queue.push(Uint8Array.from(encodeMessage(enc, Uint8Array.of(7))))
    const d = createFrameDecoder(keys, { queue })
    const got: Uint8Array[] = []
    d.decode((m) => got.push(m))
    assert.deepEqual(got, [Uint8Array.of(7)])
  })

  test('a multi-frame message whose frames span received chunks uses the given allocator', () => {
    const sizes: number[] = []
    const d = createFrameDecoder(keys, {
      allocate: (n) => {
        sizes.push(n)
        return new Uint8Array(n)
      },
    })
    const payload = Uint8Array.from({ length: 5000 }, (_, i) => i % 251)
    const wire = encodeMessage(createBoxEncryptor(keys), payload)
    const firstFrame = 4 + 34 + 4096
    d.push(wire.slice(0, firstFrame)) // frame 1 in one chunk, frame 2 in the next
    d.push(wire.slice(firstFrame))
    let got: Uint8Array | undefined
    d.decode((m) => (got = m))
    assert.deepEqual(sizes, [5000])
    assert.deepEqual(got, payload)
  })

  test('multi-frame messages within one received chunk are assembled in place, never overwritten', () => {
    const sizes: number[] = []
    const d = createFrameDecoder(keys, {
      allocate: (n) => {
        sizes.push(n)
        return new Uint8Array(n)
      },
    })
    const payloads = [4096, 5000, 12000, 4095, 1, 0, 4096, 8190, 8191].map((n, k) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff),
    )
    const enc = createBoxEncryptor(keys)
    const chunk = Uint8Array.from(payloads.flatMap((p) => [...encodeMessage(enc, p)]))
    d.push(chunk)
    const got: Uint8Array[] = []
    d.decode((m) => got.push(m))
    assert.deepEqual(sizes, []) // no message needed a buffer of its own
    for (const m of got) assert.equal(m.buffer, chunk.buffer) // views of the received chunk
    // Checked after the whole chunk was decoded: later messages did not overwrite earlier ones.
    assert.deepEqual(got, payloads)
  })

  test('a message whose last frame spans chunks falls back to a copy, other messages stay views', () => {
    const sizes: number[] = []
    const d = createFrameDecoder(keys, {
      allocate: (n) => {
        sizes.push(n)
        return new Uint8Array(n)
      },
    })
    const payloads = [Uint8Array.of(9, 8, 7), new Uint8Array(10000).fill(5), Uint8Array.of(1)]
    const enc = createBoxEncryptor(keys)
    const wire = Uint8Array.from(payloads.flatMap((p) => [...encodeMessage(enc, p)]))
    const cut = 4 + 34 + 4 + 2 * (4 + 34 + 4096) + 100 // inside the third frame of message 2
    const first = wire.slice(0, cut)
    d.push(first)
    d.push(wire.slice(cut))
    const got: Uint8Array[] = []
    d.decode((m) => got.push(m))
    assert.deepEqual(sizes, [10000])
    assert.equal(got[0]?.buffer, first.buffer)
    assert.deepEqual(got, payloads)
  })
})
