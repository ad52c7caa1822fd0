/**
 * The conformance table (events.json) over the publish script (raw EVAL, as any language calls
 * it), the Node publisher and HTTP ingest. The PHP and Python producers run the same table in their own
 * suites (producers/php/tests, producers/python/tests), started by test/producers.test.ts.
 */
import { readFileSync } from 'node:fs'
import { SignJWT } from 'jose'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublisher } from '@jobcast/gateway/publisher'
import { jobKey } from '../../packages/gateway/src/bus/keys.js'
import { PUBLISH } from '../../packages/gateway/src/bus/scripts.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
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

describe('conformance table: HTTP ingest', () => {
  const producerSecret = 'conformance-producer-secret-of-32-bytes-or-more'
  const prefix = randomPrefix()
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, producerSecret })
  })
  afterAll(async () => {
    await gw?.close()
    await raw.del(...(await raw.keys(`${prefix}*`)), 'none')
  })

  it.each(casesFor('http').map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await raw.del(jobKey(prefix, c.jobId))
    const token = await new SignJWT({ publish: [c.jobId] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(producerSecret))
    const response = await fetch(`${gw.url}/v1/jobs/${encodeURIComponent(c.jobId)}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: c.text ?? JSON.stringify(c.event),
    })
    const body = (await response.json()) as { published?: boolean; seq?: number; error?: { code: string; message: string } }
    if (c.expect.error !== undefined) {
      const [code, field] = c.expect.error.split(': ')
      expect(response.status).toBe(400)
      expect(body.error?.code).toBe(code)
      expect(body.error?.message).toMatch(new RegExp(`^\\[jobcast\\] ${code}: ${field?.replace(/[[\]{}()*+?.\\^$|]/g, '\\$&')} `))
      return
    }
    expect([response.status, body.published]).toEqual([202, true])
    const stored = (await raw.get(jobKey(prefix, c.jobId)))!
    expect(stored).not.toMatch(/[\r\n]/)
    expect(withoutSeq(stored)).toEqual(c.expect.stored)
    expect(JSON.parse(stored).seq).toBe(body.seq)
  })
})
