/**
 * The client against the real gateway and a real Redis: every transport forced alone, the
 * default fallback when a proxy blocks WebSocket and SSE, and the built IIFE bundle.
 */
import { readFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createPublisher, type Publisher } from '@jobcast/gateway'
import { createClient, waitForJob, type ClientOptions, type JobEvent, type StateChange, type TransportName } from '@jobcast/client'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'

let redis: TestRedis
let gw: TestGateway
let pub: Publisher
beforeAll(async () => {
  redis = await startRedis()
  const prefix = randomPrefix()
  // Retry-After 0 keeps the polling cases quick; the client's own backoff still applies.
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix }, pollRetryAfterSeconds: 0 })
  pub = createPublisher({ url: redis.url, prefix })
})
afterAll(async () => {
  await pub?.close()
  await gw?.close()
  await redis?.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(cond: () => boolean, ms = 5000) {
  for (const end = Date.now() + ms; !cond(); await sleep(5)) if (Date.now() > end) throw new Error('condition not met in time')
}
let n = 0
const jobId = (t: string) => `it-${t}-${Date.now()}-${n++}`
const opts = (url: string, transports?: TransportName[]): ClientOptions => ({
  url,
  transports,
  WebSocket,
  poll: { initial: 50, max: 150, factor: 2 },
  connectTimeout: 1500,
  linger: 0,
})

/** Publishes 3 progress steps → completed, spaced out (after `queued`, published first). */
async function run(id: string) {
  for (const p of [25, 50, 75]) {
    await sleep(40)
    await pub.progress(id, p, { message: `step ${p}` })
  }
  await sleep(40)
  await pub.complete(id, { downloadUrl: `/files/${id}.csv` })
}

describe.each(['websocket', 'sse', 'polling'] as const)('%s alone', (transport) => {
  it('waitForJob resolves with the result; updates in order, none twice', async () => {
    const id = jobId(transport)
    const client = createClient(opts(gw.url, [transport]))
    const seen: JobEvent[] = []
    const used = new Set<string>()
    await pub.queued(id)
    const p = client.waitForJob(id, { onProgress: (j, info) => (seen.push(j), used.add(info.transport)) })
    // The snapshot first; then every step is live, however slow the connection was.
    await until(() => seen.length === 1)
    await run(id)
    const job = await p
    expect(job.status).toBe('completed')
    expect(job.result).toEqual({ downloadUrl: `/files/${id}.csv` })
    expect([...used]).toEqual([transport])
    const seqs = seen.map((j) => j.seq)
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b))
    // Push transports see every step; polling may skip some but ends on the terminal one.
    if (transport !== 'polling') expect(seen.map((j) => j.progress ?? 0)).toEqual([0, 25, 50, 75, 100])
    await client.close()
  })

  it('a job published after the page asks is found within the grace; a failure rejects', async () => {
    const id = jobId(transport)
    const p = waitForJob(id, { ...opts(gw.url, [transport]), notFoundGrace: 5000 })
    await sleep(150)
    await pub.active(id)
    await pub.fail(id, { message: 'disk full', code: 'ENOSPC' })
    await expect(p).rejects.toMatchObject({ name: 'JobFailedError', error: { message: 'disk full', code: 'ENOSPC' } })
  })

  it('an unknown job ends with JobNotFoundError after the grace', async () => {
    await expect(waitForJob(jobId('nf'), { ...opts(gw.url, [transport]), notFoundGrace: 200 })).rejects.toMatchObject({ name: 'JobNotFoundError' })
  })
})

it.each(['websocket', 'sse'] as const)('abort over %s releases the connection: the gateway stops watching', async (transport) => {
  const client = createClient(opts(gw.url, [transport]))
  const ctl = new AbortController()
  const before = gw.gateway.hub.watchedJobs
  const p = client.waitForJob(jobId('abort'), { signal: ctl.signal })
  await until(() => gw.gateway.hub.watchedJobs === before + 1)
  ctl.abort()
  await expect(p).rejects.toMatchObject({ name: 'AbortError' })
  await until(() => gw.gateway.hub.watchedJobs === before)
  await client.close()
})

it('ten jobs share one SSE stream and all resolve', async () => {
  const client = createClient(opts(gw.url, ['sse']))
  const ids = Array.from({ length: 10 }, () => jobId('multi'))
  const all = Promise.all(ids.map((id) => client.waitForJob(id)))
  await sleep(100)
  await Promise.all(ids.map((id) => pub.complete(id, { ok: true })))
  expect((await all).map((j) => j.id)).toEqual(ids)
  await client.close()
})

describe('through a proxy that blocks WebSocket and SSE', () => {
  let proxy: Server
  let url: string
  const blocked: string[] = []
  beforeAll(async () => {
    const target = new URL(gw.url)
    proxy = createServer((req, res) => {
      if (req.url!.startsWith('/v1/events') || /^\/v1\/jobs\/[^/]+\/events/.test(req.url!)) {
        blocked.push(req.url!)
        res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway')
        return
      }
      const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers)
        r.pipe(res)
      })
      up.on('error', () => res.writeHead(502).end())
      req.pipe(up)
    })
    proxy.on('upgrade', (req, socket) => {
      blocked.push(req.url!)
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((r) => proxy.close(() => r())))

  it('the default order falls back to polling and still resolves', async () => {
    const id = jobId('proxy')
    const client = createClient({ ...opts(url), upgradeAfter: 60_000 })
    const states: StateChange[] = []
    client.onStateChange((s) => states.push(s))
    const used = new Set<string>()
    await pub.queued(id)
    const p = client.waitForJob(id, { onProgress: (_, i) => used.add(i.transport) })
    await sleep(50)
    await run(id)
    expect((await p).status).toBe('completed')
    expect([...used]).toEqual(['polling'])
    expect(states.map((s) => `${s.state}:${s.transport ?? '-'}`)).toEqual([
      'connecting:websocket',
      'connecting:sse',
      'connecting:polling',
      'connected:polling',
    ])
    expect(blocked).toEqual(['/v1/ws', `/v1/events?id=${id}`])
    await client.close()
  })
})

describe('the built IIFE bundle (dist/jobcast.iife.js, from npm run build)', () => {
  it.each(['websocket', 'sse', 'polling'] as const)('window.Jobcast works over %s', async (transport) => {
    const code = readFileSync(new URL('../../packages/client/dist/jobcast.iife.js', import.meta.url), 'utf8')
    const sandbox: Record<string, unknown> = { fetch, setTimeout, clearTimeout, queueMicrotask, AbortController, TextDecoder, DOMException, Promise, Date, JSON, Math, Error, Map, Set, Symbol, Object, Array, Number, String, RegExp, encodeURIComponent }
    sandbox.globalThis = sandbox
    runInNewContext(code, sandbox)
    const Jobcast = sandbox.Jobcast as typeof import('@jobcast/client')
    const id = jobId('iife')
    await pub.queued(id)
    const p = Jobcast.waitForJob(id, { ...opts(gw.url, [transport]) })
    await sleep(50)
    await run(id)
    expect((await p).result).toEqual({ downloadUrl: `/files/${id}.csv` })
    const failed = Jobcast.waitForJob(jobId('iife'), { ...opts(gw.url, [transport]), notFoundGrace: 100 })
    await expect(failed).rejects.toMatchObject({ name: 'JobNotFoundError', code: 'job_not_found' })
    // Every error class is there for `instanceof` (the guards are left out of this bundle).
    for (const name of ['JobcastClientError', 'JobFailedError', 'JobCancelledError', 'JobTimeoutError', 'JobNotFoundError', 'JobLostError', 'AuthError'] as const) {
      expect(Jobcast[name]).toBeTypeOf('function')
    }
  })
})
