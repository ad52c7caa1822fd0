import { describe, expect, it } from 'vitest'
import { createRateLimiter } from '../src/admission/rate-limiter.js'

describe('rate limiter (token bucket)', () => {
  it('allows a burst, then the sustained rate, and says when to retry', () => {
    let t = 0
    const r = createRateLimiter({ ratePerSec: 2, burst: 3, now: () => t })
    expect([r.take('ip'), r.take('ip'), r.take('ip')].every((d) => d.ok)).toBe(true)
    expect(r.take('ip')).toEqual({ ok: false, retryAfterSec: 1 })
    t = 499
    expect(r.take('ip').ok).toBe(false)
    t = 500 // one token refilled
    expect(r.take('ip').ok).toBe(true)
    expect(r.take('ip').ok).toBe(false)
    t = 10_000 // refills only up to the burst
    expect([r.take('ip'), r.take('ip'), r.take('ip')].every((d) => d.ok)).toBe(true)
    expect(r.take('ip').ok).toBe(false)
  })

  it('keeps keys apart', () => {
    const r = createRateLimiter({ ratePerSec: 1, burst: 1, now: () => 0 })
    expect(r.take('a').ok).toBe(true)
    expect(r.take('a').ok).toBe(false)
    expect(r.take('b').ok).toBe(true)
  })

  it('rounds Retry-After up to whole seconds for slow rates', () => {
    const r = createRateLimiter({ ratePerSec: 0.1, burst: 1, now: () => 0 })
    r.take('a')
    expect(r.take('a')).toEqual({ ok: false, retryAfterSec: 10 })
  })

  it('bounds its memory to maxKeys, forgetting the least recently seen key', () => {
    const r = createRateLimiter({ ratePerSec: 1, burst: 1, maxKeys: 2, now: () => 0 })
    r.take('a')
    r.take('b')
    r.take('a')
    r.take('c') // evicts b
    expect(r.size).toBe(2)
    expect(r.take('a').ok).toBe(false) // still remembered and empty
    expect(r.take('b').ok).toBe(true) // forgotten: starts full again
  })

  it('is disabled by a rate of 0', () => {
    const r = createRateLimiter({ ratePerSec: 0, now: () => 0 })
    for (let i = 0; i < 100; i++) expect(r.take('a').ok).toBe(true)
    expect(r.size).toBe(0)
  })
})
