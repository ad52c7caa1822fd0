import { describe, expect, it } from 'vitest'
import { createConnectionCounter } from '../src/admission/connection-counter.js'

describe('connection counter', () => {
  it('admits up to maxPerIp per address and frees slots on release', () => {
    const c = createConnectionCounter({ maxPerIp: 2 })
    expect(c.tryAcquire('1.1.1.1')).toBe(true)
    expect(c.tryAcquire('1.1.1.1')).toBe(true)
    expect(c.tryAcquire('1.1.1.1')).toBe(false)
    expect(c.tryAcquire('2.2.2.2')).toBe(true)
    expect(c.count('1.1.1.1')).toBe(2)
    c.release('1.1.1.1')
    expect(c.tryAcquire('1.1.1.1')).toBe(true)
  })

  it('forgets an address at zero and ignores extra releases', () => {
    const c = createConnectionCounter({ maxPerIp: 1 })
    c.tryAcquire('a')
    c.release('a')
    c.release('a')
    c.release('never-seen')
    expect(c.size).toBe(0)
    expect(c.count('a')).toBe(0)
    expect(c.tryAcquire('a')).toBe(true)
    expect(c.tryAcquire('a')).toBe(false)
  })

  it('caps connections in total across addresses', () => {
    const c = createConnectionCounter({ maxPerIp: 0, maxTotal: 3 })
    expect(['a', 'b', 'c'].map((ip) => c.tryAcquire(ip))).toEqual([true, true, true])
    expect(c.tryAcquire('d')).toBe(false)
    expect(c.total).toBe(3)
    c.release('b')
    c.release('b')
    expect(c.total).toBe(2)
    expect(c.tryAcquire('d')).toBe(true)
  })

  it('bounds the number of tracked addresses', () => {
    const c = createConnectionCounter({ maxPerIp: 5, maxIps: 2 })
    expect(c.tryAcquire('a')).toBe(true)
    expect(c.tryAcquire('b')).toBe(true)
    expect(c.tryAcquire('c')).toBe(false)
    expect(c.tryAcquire('a')).toBe(true) // known addresses still get their slots
    c.release('b')
    expect(c.tryAcquire('c')).toBe(true)
  })

  it('treats 0 as unlimited', () => {
    const c = createConnectionCounter({ maxPerIp: 0 })
    for (let i = 0; i < 1000; i++) expect(c.tryAcquire('a')).toBe(true)
  })
})
