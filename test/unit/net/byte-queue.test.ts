/**
 * Chunk queue of the stream reader (PROTOCOL.md §3.5.1): exact reads across chunk boundaries, a
 * view (no copy) when a read lies inside one chunk, prefix peeking, bounds.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createByteQueue } from '../../../src/net/index.js'

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v)

describe('byte queue', () => {
  test('reads inside one chunk are views of it; reads across chunks are copies', () => {
    const q = createByteQueue()
    const a = bytes(1, 2, 3, 4, 5)
    q.push(a)
    q.push(bytes(6, 7))
    const view = q.take(2)
    assert.deepEqual(view, bytes(1, 2))
    assert.equal(view.buffer, a.buffer)
    const spanning = q.take(4)
    assert.deepEqual(spanning, bytes(3, 4, 5, 6))
    assert.notEqual(spanning.buffer, a.buffer)
    assert.equal(q.length, 1)
    assert.deepEqual(q.take(1), bytes(7))
    assert.equal(q.length, 0)
  })

  test('peekUint32be reads a prefix split over several chunks without consuming it', () => {
    const q = createByteQueue()
    q.push(bytes(0x01))
    q.push(bytes(0x02, 0x03))
    q.push(new Uint8Array(0))
    q.push(bytes(0x04, 0xff))
    assert.equal(q.peekUint32be(), 0x01020304)
    assert.equal(q.length, 5)
    q.skip(4)
    assert.deepEqual(q.take(1), bytes(0xff))
  })

  test('large values of the prefix stay unsigned', () => {
    const q = createByteQueue()
    q.push(bytes(0xff, 0xff, 0xff, 0xff))
    assert.equal(q.peekUint32be(), 0xffffffff)
  })

  test('reading more than is buffered is a RangeError', () => {
    const q = createByteQueue()
    q.push(bytes(1, 2, 3))
    assert.throws(() => q.peekUint32be(), RangeError)
    assert.throws(() => q.take(4), RangeError)
    assert.throws(() => q.skip(4), RangeError)
    q.clear()
    assert.equal(q.length, 0)
  })

  test('many small chunks: every byte comes out once, in order', () => {
    const q = createByteQueue()
    const all: number[] = []
    for (let i = 0; i < 500; i++) {
      q.push(bytes(i & 255, (i * 7) & 255, (i * 13) & 255))
      all.push(i & 255, (i * 7) & 255, (i * 13) & 255)
    }
    const out: number[] = []
    for (const n of [1, 2, 700, 3, 1, 793]) out.push(...q.take(n))
    assert.deepEqual(out, all)
  })
})
