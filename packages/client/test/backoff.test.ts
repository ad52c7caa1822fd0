import { describe, expect, it } from 'vitest'
import { backoffCap, backoffDelay, parseRetryAfter, pollDelay } from '../src/backoff.js'

const o = { initial: 1000, max: 10_000, factor: 2 }

describe('backoff', () => {
  it('caps grow exponentially up to max', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffCap(n, o))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000])
  })

  it('full jitter stays within [0, cap)', () => {
    for (let n = 0; n < 8; n++) {
      expect(backoffDelay(n, o, () => 0)).toBe(0)
      expect(backoffDelay(n, o, () => 0.999999)).toBe(backoffCap(n, o) - 1)
      expect(backoffDelay(n, o, () => 0.5)).toBe(backoffCap(n, o) / 2)
    }
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, o)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThan(8000)
    }
  })

  it('reads Retry-After seconds; anything else counts as absent', () => {
    expect(parseRetryAfter('2')).toBe(2000)
    expect(parseRetryAfter('0.5')).toBe(500)
    expect(parseRetryAfter(null)).toBe(0)
    expect(parseRetryAfter('')).toBe(0)
    expect(parseRetryAfter('soon')).toBe(0)
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBe(0)
  })

  it("polls at the gateway's pace plus at most a tenth; without one, at the backoff", () => {
    expect(pollDelay(1000, 7, o, () => 0)).toBe(1000)
    expect(pollDelay(1000, 7, o, () => 0.999)).toBeCloseTo(1099.9)
    expect(pollDelay(3000, 0, o, () => 0.5)).toBe(3150)
    expect(pollDelay(0, 0, o, () => 0.5)).toBe(500)
    expect(pollDelay(0, 5, o, () => 0.5)).toBe(5000)
  })
})
