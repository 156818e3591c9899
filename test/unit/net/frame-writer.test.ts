/**
 * The sending half (PROTOCOL.md §3.5.1, §3.6): messages of one tick leave in few socket writes,
 * bytes once written are never touched again, the byte budget waits for 'drain', order is kept.
 */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import { describe, test } from 'node:test'
import { createBoxEncryptor, type BoxStreamKeys } from '../../../src/crypto/index.js'
import { decodeAll } from '../../../src/net/index.js'
import { createFrameWriter } from '../../../src/net/frame-writer.js'

const keys: BoxStreamKeys = { key: new Uint8Array(32).fill(5), nonce: new Uint8Array(24).fill(6) }

/** A sink that records every chunk (the view and a copy) and completes writes when told to. */
function sink(options: { hold?: boolean } = {}) {
  const views: Uint8Array[] = []
  const copies: Uint8Array[] = []
  const pending: (() => void)[] = []
  const w = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Uint8Array, _enc, done) {
      views.push(chunk)
      copies.push(Uint8Array.from(chunk))
      if (options.hold === true) pending.push(() => done())
      else done()
    },
  })
  const release = (): void => {
    for (const p of pending.splice(0)) p()
  }
  return { w, views, copies, release, wire: () => Uint8Array.from(copies.flatMap((c) => [...c])) }
}

const payload = (n: number, k: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 13 + k) & 0xff)

describe('frame writer', () => {
  test('the messages of one tick leave in few writes, in order, and written bytes stay put', async () => {
    const s = sink()
    const writer = createFrameWriter(s.w as never, createBoxEncryptor(keys), {
      highWaterMarkBytes: 1024 * 1024,
    })
    const sent = Array.from({ length: 40 }, (_, k) => payload([4096, 4095, 1, 9000][k % 4]!, k))
    await Promise.all(sent.map((p) => writer.send(p)))
    await tick()
    // about 170 KB of wire bytes: a handful of 64 KiB batches, not one write per message
    assert.ok(s.views.length <= 4, `${s.views.length} writes`)
    await writer.finish()
    // every written view still holds exactly the bytes it held when it was written
    s.views.forEach((v, i) => assert.deepEqual(Uint8Array.from(v), s.copies[i]))
    const { messages, goodbye } = decodeAll(keys, s.wire())
    assert.equal(goodbye, true)
    assert.deepEqual(messages, sent)
  })

  test('past the budget send() waits for drain; sends made meanwhile keep their order', async () => {
    const s = sink({ hold: true })
    const writer = createFrameWriter(s.w as never, createBoxEncryptor(keys), {
      highWaterMarkBytes: 20 * 1024,
      batchBytes: 8 * 1024,
    })
    const sent = Array.from({ length: 12 }, (_, k) => payload(3000, k))
    const states = sent.map(() => 'pending')
    const promises = sent.map((p, k) =>
      writer.send(p).then(() => {
        states[k] = 'done'
      }),
    )
    await tick()
    assert.ok(states.includes('pending'), 'some sends wait for drain')
    const firstWait = states.indexOf('pending')
    assert.ok(
      states.slice(firstWait).every((x) => x === 'pending'),
      'no later send overtook',
    )
    while (states.includes('pending')) {
      s.release()
      await tick()
    }
    await Promise.all(promises)
    const finished = writer.finish()
    while (!s.w.writableFinished) {
      s.release()
      await tick()
    }
    await finished
    const { messages, goodbye } = decodeAll(keys, s.wire())
    assert.equal(goodbye, true)
    assert.deepEqual(messages, sent)
  })

  test('abort fails waiting and later sends; too large is refused before any nonce is used', async () => {
    const s = sink({ hold: true })
    const enc = createBoxEncryptor(keys)
    const writer = createFrameWriter(s.w as never, enc, { highWaterMarkBytes: 16 * 1024 })
    const before = enc.nextNonce()
    await assert.rejects(writer.send(new Uint8Array(131073)), { code: 'FRAME_TOO_LARGE' })
    assert.deepEqual(enc.nextNonce(), before)
    const waiting = [writer.send(payload(30000, 1)), writer.send(payload(10, 2))]
    const err = new Error('gone')
    writer.abort(err)
    for (const p of waiting) await assert.rejects(p, err)
    await assert.rejects(writer.send(payload(10, 3)), err)
  })
})
