/** Error codes are stable and documented: every ErrorCode has a row in docs/protocol.md. */
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8')

it('docs/protocol.md has a row for every ErrorCode, and no row for a code that does not exist', () => {
  const source = read('../src/protocol.ts')
  const union = /export type ErrorCode =([\s\S]*?)\n\n/.exec(`${source}\n\n`)?.[1] ?? ''
  const codes = [...union.matchAll(/\|\s*'([a-z_]+)'/g)].map((m) => m[1])
  expect(codes.length).toBeGreaterThan(15)
  const docs = read('../../../docs/protocol.md')
  const table = /\| code \| where \| meaning \|[^\n]*\n([\s\S]*?)\n\n/.exec(docs)?.[1] ?? ''
  const rows = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1])
  expect([...rows].sort()).toEqual([...codes].sort())
})
