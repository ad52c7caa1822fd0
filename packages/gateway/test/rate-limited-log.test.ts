import { describe, expect, it } from 'vitest'
import { rateLimitedLog } from '../src/bus/rate-limited-log.js'

describe('rateLimitedLog', () => {
  it('writes the first line at once, drops lines for the interval, then says how many it dropped', () => {
    const lines: string[] = []
    let now = 1_000
    const log = rateLimitedLog((line) => lines.push(line), 10_000, () => now)
    log('a')
    now += 5_000
    log('b')
    log('c')
    now += 5_000
    log('d')
    now += 1
    log('e')
    now += 10_000
    log('f')
    expect(lines).toEqual(['a', 'd (2 similar lines dropped)', 'f (1 similar lines dropped)'])
  })
})
