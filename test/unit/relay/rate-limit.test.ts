/** Per-IP fixed-window rate limit of registration and settings (PROTOCOL.md §9.5). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRateLimiter } from '../../../src/relay/index.js'

describe('createRateLimiter', () => {
  it('allows max requests per window, then refuses with the seconds left until it ends', () => {
    const limiter = createRateLimiter({ max: 3, windowMs: 60_000, maxKeys: 10 })
    for (let i = 0; i < 3; i++)
      assert.deepEqual(limiter.take('1.2.3.4', 1000 + i), { allowed: true })
    assert.deepEqual(limiter.take('1.2.3.4', 1000), { allowed: false, retryAfterSecs: 60 })
    assert.deepEqual(limiter.take('1.2.3.4', 59_500), { allowed: false, retryAfterSecs: 2 })
    assert.deepEqual(limiter.take('1.2.3.4', 60_999), { allowed: false, retryAfterSecs: 1 })
    assert.deepEqual(limiter.take('5.6.7.8', 2000), { allowed: true }, 'other IPs are separate')
    assert.deepEqual(limiter.take('1.2.3.4', 61_000), { allowed: true }, 'a new window')
  })

  it('tracks at most maxKeys IPs: expired windows are swept, then the oldest is forgotten', () => {
    const limiter = createRateLimiter({ max: 1, windowMs: 1000, maxKeys: 3 })
    limiter.take('a', 0)
    limiter.take('b', 10)
    limiter.take('c', 20)
    limiter.take('d', 30) // full, none expired: 'a' (oldest) is forgotten
    assert.equal(limiter.size(), 3)
    assert.deepEqual(limiter.take('a', 40), { allowed: true })
    assert.deepEqual(limiter.take('c', 40), { allowed: false, retryAfterSecs: 1 })
    limiter.take('e', 5000) // every window has expired: all swept
    assert.equal(limiter.size(), 1)
  })

  it('rejects nonsensical options', () => {
    assert.throws(() => createRateLimiter({ max: 0, windowMs: 1000, maxKeys: 1 }), RangeError)
    assert.throws(() => createRateLimiter({ max: 1, windowMs: 0, maxKeys: 1 }), RangeError)
  })
})
