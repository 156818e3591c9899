/**
 * Received-message queue and the per-read timer of a secure connection (PROTOCOL.md §3.5.3,
 * §3.5.4): FIFO hand-over to readers, end with and without an error, re-arming on progress only.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { INBOX_ENTRY_OVERHEAD_BYTES, createInbox } from '../../../src/net/inbox.js'
import { createReadTimer } from '../../../src/net/read-timer.js'

describe('inbox', () => {
  test('messages go to waiting readers first, then queue; bytes are counted with overhead', async () => {
    const inbox = createInbox()
    const first = inbox.take()
    assert.equal(inbox.waiting, 1)
    inbox.put(Uint8Array.of(1))
    inbox.put(Uint8Array.of(2, 3))
    assert.equal(inbox.bytes, 2 + INBOX_ENTRY_OVERHEAD_BYTES) // the first went to the reader
    assert.deepEqual(await first, Uint8Array.of(1))
    assert.deepEqual(await inbox.take(), Uint8Array.of(2, 3))
    assert.equal(inbox.bytes, 0)
  })

  test('end: queued messages still come out, then null (or the error) for every reader', async () => {
    const clean = createInbox()
    clean.put(Uint8Array.of(1))
    clean.end(null)
    assert.deepEqual(await clean.take(), Uint8Array.of(1))
    assert.equal(await clean.take(), null)
    assert.equal(await clean.take(), null)
    const broken = createInbox()
    const waiting = broken.take()
    broken.end(new Error('boom'))
    await assert.rejects(waiting, /boom/)
    await assert.rejects(broken.take(), /boom/)
  })

  test('thousands of messages keep their order', async () => {
    const inbox = createInbox()
    for (let i = 0; i < 5000; i++) inbox.put(Uint8Array.of(i & 255, i >> 8))
    for (let i = 0; i < 5000; i++)
      assert.deepEqual(await inbox.take(), Uint8Array.of(i & 255, i >> 8))
  })
})

describe('read timer', () => {
  test('fires after the timeout while reading without progress; progress restarts it', async () => {
    let fired = 0
    const start = Date.now()
    const done = new Promise<void>((resolve) => {
      const timer = createReadTimer(40, () => {
        fired++
        resolve()
      })
      timer.update(true, 0)
      timer.update(true, 0) // same read: no restart
      timer.update(false, 0) // not reading: cleared
      timer.update(true, 1) // a new read: a fresh timer
    })
    await done
    assert.equal(fired, 1)
    assert.ok(Date.now() - start >= 35)
  })
})
