/**
 * The conformance table (events.json) over the publish script (raw EVAL, as any language calls
 * it) and the Node publisher. The PHP and Python producers run the same table in their own
 * suites (producers/php/tests, producers/python/tests), started by test/producers.test.ts.
 */
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublisher } from '@jobcast/gateway/publisher'
import { jobKey } from '../../packages/gateway/src/bus/keys.js'
import { PUBLISH } from '../../packages/gateway/src/bus/scripts.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'

/** One row of test/conformance/events.json. */
export interface ConformanceCase {
  readonly name: string
  readonly jobId: string
  readonly event?: unknown
  readonly text?: string
  readonly expect: { readonly stored?: Record<string, unknown>; readonly storedText?: string; readonly error?: string }
  readonly notFor?: Readonly<Record<string, string>>
}

const table = JSON.parse(readFileSync(new URL('./events.json', import.meta.url), 'utf8')) as { cases: ConformanceCase[] }
const casesFor = (path: string) => table.cases.filter((c) => c.notFor?.[path] === undefined)

let redis: TestRedis
let raw: Redis
beforeAll(async () => {
  redis = await startRedis()
  raw = new Redis(redis.url)
})
afterAll(async () => {
  raw?.disconnect()
  await redis?.stop()
})

/** Runs a case through the script; returns the stored text or the error reply. */
async function viaScript(c: ConformanceCase): Promise<{ stored: string } | { error: string }> {
  const text = c.text ?? JSON.stringify(c.event)
  try {
    const reply = (await raw.eval(PUBLISH.source, 1, jobKey(randomPrefix(), c.jobId), text, 60)) as [number, string]
    expect(reply[0]).toBe(1)
    return { stored: reply[1] }
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ReplyError') throw error
    return { error: error.message }
  }
}

function withoutSeq(stored: string): Record<string, unknown> {
  const { seq, ...rest } = JSON.parse(stored) as Record<string, unknown>
  expect(typeof seq).toBe('number')
  return rest
}

describe('conformance table: the publish script', () => {
  it('has cases for every kind of outcome', () => {
    expect(table.cases.length).toBeGreaterThan(40)
    expect(new Set(table.cases.map((c) => c.name)).size).toBe(table.cases.length)
  })

  it.each(casesFor('script').map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const outcome = await viaScript(c)
    if (c.expect.error !== undefined) {
      expect(outcome).toEqual({ error: expect.stringMatching(new RegExp(`^${c.expect.error.replace(/[[\]{}()*+?.\\^$|]/g, '\\$&')} `)) })
      return
    }
    if (!('stored' in outcome)) throw new Error(`refused: ${outcome.error}`)
    expect(outcome.stored).not.toMatch(/[\r\n]/)
    expect(withoutSeq(outcome.stored)).toEqual(c.expect.stored)
    if (c.expect.storedText !== undefined) expect(outcome.stored.replace(/^\{"seq":\d+,/, '{')).toBe(c.expect.storedText)
  })
})

describe('conformance table: the Node publisher', () => {
  it.each(casesFor('node').map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const publisher = createPublisher({ url: redis.url, prefix: randomPrefix() })
    try {
      const published = publisher.publish(c.event as Parameters<typeof publisher.publish>[0])
      if (c.expect.error !== undefined) {
        const [code, field] = c.expect.error.split(': ')
        const error: unknown = await published.then(
          () => undefined,
          (reason: unknown) => reason,
        )
        expect(error).toMatchObject({ name: 'ValidationError', code, field })
        // Same words as the script, so a reader of either learns the same rule.
        const script = await viaScript(c)
        if ('error' in script && code === 'invalid_event') expect((error as Error).message).toContain(script.error)
        return
      }
      const outcome = await published
      if (!outcome.published) throw new Error('refused as terminal')
      const { seq, ...event } = outcome.event
      expect(seq).toBeGreaterThan(0)
      expect(event).toEqual(c.expect.stored)
    } finally {
      await publisher.close()
    }
  })
})
