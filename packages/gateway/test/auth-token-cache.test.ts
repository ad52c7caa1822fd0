import { describe, expect, it } from 'vitest'
import { TokenCache } from '../src/auth/token-cache.js'

describe('TokenCache', () => {
  it('returns entries until they expire', () => {
    const cache = new TokenCache<string>(10)
    cache.set('t', 'grant', 1000)
    expect(cache.get('t', 999)).toBe('grant')
    expect(cache.get('t', 1000)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('evicts the least recently used entry beyond its bound', () => {
    const cache = new TokenCache<number>(2)
    cache.set('a', 1, 1e9)
    cache.set('b', 2, 1e9)
    expect(cache.get('a', 0)).toBe(1) // a is now the most recent
    cache.set('c', 3, 1e9)
    expect(cache.size).toBe(2)
    expect(cache.get('b', 0)).toBeUndefined()
    expect(cache.get('a', 0)).toBe(1)
    expect(cache.get('c', 0)).toBe(3)
  })

  it('caches nothing with size 0', () => {
    const cache = new TokenCache<number>(0)
    cache.set('a', 1, 1e9)
    expect(cache.get('a', 0)).toBeUndefined()
  })
})
