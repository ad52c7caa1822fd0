/**
 * A list that is almost always one item long (the watchers of a job, the listeners of a
 * channel), stored as the bare item until a second one comes, as Node's EventEmitter stores
 * a lone listener: an idle job then holds no array (~56 B each). Items are objects, never arrays.
 */
export type OneOrMany<T extends object> = T | readonly T[] | undefined

/** The items, as an array (a new one: safe to iterate while the list changes). */
export function itemsOf<T extends object>(list: OneOrMany<T>): readonly T[] {
  if (list === undefined) return []
  return Array.isArray(list) ? list.slice() : [list as T]
}

/** Number of items. */
export function countOf<T extends object>(list: OneOrMany<T>): number {
  if (list === undefined) return 0
  return Array.isArray(list) ? list.length : 1
}

/** The list with `item` added at the end (an exact-size array from two items on). */
export function withItem<T extends object>(list: OneOrMany<T>, item: T): OneOrMany<T> {
  if (list === undefined) return item
  return Array.isArray(list) ? [...list, item] : [list as T, item]
}

/** The list without `item` (unchanged when absent); back to a bare item at one, `undefined` at none. */
export function withoutItem<T extends object>(list: OneOrMany<T>, item: T): OneOrMany<T> {
  if (list === item) return undefined
  if (!Array.isArray(list)) return list
  const rest = (list as readonly T[]).filter((x) => x !== item)
  return rest.length === 1 ? rest[0] : rest
}
