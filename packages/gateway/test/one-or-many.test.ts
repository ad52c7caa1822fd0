import { expect, it } from 'vitest'
import { countOf, itemsOf, withItem, withoutItem, type OneOrMany } from '../src/one-or-many.js'

it('keeps one item bare, two or more in an exact array, and goes back on removal', () => {
  const [a, b, c] = [{ n: 1 }, { n: 2 }, { n: 3 }]
  let list: OneOrMany<{ n: number }> = undefined
  expect(countOf(list)).toBe(0)
  list = withItem(list, a)
  expect(list).toBe(a)
  list = withItem(withItem(list, b), c)
  expect(list).toEqual([a, b, c])
  expect(countOf(list)).toBe(3)
  expect(withoutItem(list, { n: 9 })).toEqual([a, b, c])
  list = withoutItem(withoutItem(list, b), a)
  expect(list).toBe(c)
  expect(withoutItem(list, a)).toBe(c)
  expect(withoutItem(list, c)).toBeUndefined()
})

it('iterates over a copy, so items can be removed while iterating', () => {
  const [a, b] = [{ n: 1 }, { n: 2 }]
  let list: OneOrMany<{ n: number }> = withItem(withItem(undefined, a), b)
  const seen: number[] = []
  for (const item of itemsOf(list)) {
    seen.push(item.n)
    list = withoutItem(list, item)
  }
  expect(seen).toEqual([1, 2])
  expect(list).toBeUndefined()
  expect(itemsOf(a)).toEqual([a])
})
