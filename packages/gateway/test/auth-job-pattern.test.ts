import { describe, expect, it } from 'vitest'
import { grantsJob, matchesJobPattern, parseJobPattern, parseJobsClaim, MAX_JOB_PATTERNS } from '../src/auth/job-pattern.js'

describe('parseJobPattern', () => {
  it.each([
    ['export-42', { kind: 'exact', id: 'export-42' }],
    ['user-42:*', { kind: 'prefix', prefix: 'user-42:' }],
    ['org.1:user@x:*', { kind: 'prefix', prefix: 'org.1:user@x:' }],
  ])('accepts %s', (entry, expected) => {
    expect(parseJobPattern(entry)).toEqual(expected)
  })

  it.each([
    ['*'],
    [':*'],
    ['user-*'],
    ['user-42*'],
    ['user:*:x'],
    ['a:**'],
    [''],
    ['has space'],
    ['{brace}'],
    ['x'.repeat(129)],
    [`${'x'.repeat(127)}:*`],
  ])('refuses %j', (entry) => {
    expect(parseJobPattern(entry)).toBeUndefined()
  })

  it('refuses non-strings', () => {
    expect(parseJobPattern(42)).toBeUndefined()
    expect(parseJobPattern(null)).toBeUndefined()
    expect(parseJobPattern({ id: 'x' })).toBeUndefined()
  })
})

describe('matchesJobPattern', () => {
  const prefix = parseJobPattern('user-4:*')!
  it.each([
    ['user-4:x', true],
    ['user-4:export:9', true],
    ['user-42:x', false],
    ['user-4', false],
    ['user-4:', false],
    ['xuser-4:x', false],
    ['USER-4:x', false],
  ])('user-4:* vs %s → %s', (id, expected) => {
    expect(matchesJobPattern(prefix, id)).toBe(expected)
  })

  it('exact ids match only themselves', () => {
    const exact = parseJobPattern('export-4')!
    expect(matchesJobPattern(exact, 'export-4')).toBe(true)
    expect(matchesJobPattern(exact, 'export-42')).toBe(false)
    expect(matchesJobPattern(exact, 'export-')).toBe(false)
  })
})

describe('parseJobsClaim', () => {
  it('parses a list and grants any of it', () => {
    const patterns = parseJobsClaim(['a', 'user-1:*'])!
    expect(grantsJob(patterns, 'a')).toBe(true)
    expect(grantsJob(patterns, 'user-1:z')).toBe(true)
    expect(grantsJob(patterns, 'b')).toBe(false)
  })

  it.each([[undefined], ['a'], [[]], [['a', '*']], [['a', 7]], [{ 0: 'a', length: 1 }]])('refuses %j', (claim) => {
    expect(parseJobsClaim(claim)).toBeUndefined()
  })

  it('refuses more than MAX_JOB_PATTERNS entries', () => {
    expect(parseJobsClaim(Array.from({ length: MAX_JOB_PATTERNS }, (_, i) => `j${i}`))).toHaveLength(MAX_JOB_PATTERNS)
    expect(parseJobsClaim(Array.from({ length: MAX_JOB_PATTERNS + 1 }, (_, i) => `j${i}`))).toBeUndefined()
  })
})
