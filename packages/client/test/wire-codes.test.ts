/**
 * The client's table of wire codes (src/wire-codes.ts) and the "client" column of the error
 * table in docs/protocol.md say the same thing.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { NOT_FATAL, wireCodeAction, type WireCodeAction } from '../src/wire-codes.js'

const DOC = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8')

/** `code → client column` of every four-column row of the error table. */
const documented = new Map(
  [...DOC.matchAll(/^\| `([a-z_]+)` \|[^|\n]*\|[^|\n]*\| ([a-z ]+) \|$/gm)].map((m) => [m[1]!, m[2]!]),
)

/** The words of the column for each action of the table. */
const WORDS: Record<WireCodeAction, string> = { retry: 'retry', token: 'new token', route: 'gateway error', fatal: 'fatal' }

/** Codes that never reach the table: the transports handle them (a 404 is "unknown", a close reconnects). */
const BY_TRANSPORTS: Record<string, string> = { job_not_found: 'wait', frame_too_large: 'reconnect', slow_consumer: 'reconnect' }

describe('wire codes', () => {
  it('retries passing faults, asks a new token on expiry, fails the transport on a missing route, and is fatal otherwise (unknown codes included)', () => {
    for (const code of ['bus_unavailable', 'rate_limited', 'shutting_down', 'internal', 'too_many_connections']) expect(wireCodeAction(code)).toBe('retry')
    expect(wireCodeAction('token_expired')).toBe('token')
    expect(wireCodeAction('not_found')).toBe('route')
    for (const code of ['unauthorized', 'forbidden', 'invalid_job_id', 'bad_cursor', 'too_many_subscriptions', 'attempts', 'no_such_code', '']) {
      expect(wireCodeAction(code)).toBe('fatal')
    }
    // Names of Object.prototype are codes like any other, not table entries.
    for (const code of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(wireCodeAction(code)).toBe('fatal')
  })

  it('agrees with the "client" column of docs/protocol.md, row for row', () => {
    expect(documented.size).toBeGreaterThan(15)
    for (const [code, word] of documented) expect([code, word]).toEqual([code, BY_TRANSPORTS[code] ?? WORDS[wireCodeAction(code)]])
    // Every code the client treats as not fatal is documented.
    for (const code of Object.keys(NOT_FATAL)) expect(documented.has(code)).toBe(true)
  })
})
