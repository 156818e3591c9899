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

  test('a multi-frame message uses the given allocator for its buffer', () => {
    const sizes: number[] = []
    const d = createFrameDecoder(keys, {
      allocate: (n) => {
        sizes.push(n)
        return new Uint8Array(n)
      },
    })
    d.push(Uint8Array.from(encodeMessage(createBoxEncryptor(keys), new Uint8Array(5000).fill(1))))
    let got: Uint8Array | undefined
    d.decode((m) => (got = m))
    assert.deepEqual(sizes, [5000])
    assert.equal(got?.length, 5000)
  })
})
