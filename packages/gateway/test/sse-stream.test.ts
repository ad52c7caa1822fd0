/** SSE over real sockets: HEAD, bus failures while starting a stream, clients that leave. */
import { afterEach, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { createGateway } from '../src/create-gateway.js'
import { openAuthorizer } from '../src/auth/authorizer.js'
import { createMemoryBus } from '../src/bus/memory-bus.js'
import { JobcastError } from '../src/errors.js'
import type { JobHub } from '../src/hub.js'
import { openSse } from '../../../test/support/clients.js'
import { startGateway, type TestGateway } from '../../../test/support/gateway.js'

let gw: TestGateway | undefined
afterEach(async () => {
  await gw?.close()
  gw = undefined
})

it('answers HEAD with the stream headers and opens no watch', async () => {
  gw = await startGateway()
  const response = await fetch(`${gw.url}/v1/jobs/h/events`, { method: 'HEAD' })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/)
  await new Promise((r) => setTimeout(r, 20))
  expect(gw.gateway.hub.watchedJobs).toBe(0)
})

it('ends the stream with the bus error code when a watch cannot start', async () => {
  const bus = createMemoryBus()
  const hub = {
    bus,
    get: async () => null,
    watch: async () => {
      throw new JobcastError('bus_unavailable', 'redis is down')
    },
  }
  const app = createApp({ hub: hub as unknown as JobHub, authorizer: openAuthorizer })
  const text = await (await app.request('/v1/jobs/a/events')).text()
  expect(text).toMatch(/event: error\ndata: \{"code":"bus_unavailable","message":"\[jobcast\] redis is down"\}\n\n$/)
  await bus.close()
})

it('frees the hub watch when an SSE client disconnects (single and multi-job)', async () => {
  gw = await startGateway()
  const single = await openSse(`${gw.url}/v1/jobs/gone/events`)
  const multi = await openSse(`${gw.url}/v1/events?id=gone&id=gone-2`)
  await multi.items.until(() => (multi.items.items.filter((i) => i.kind === 'event').length === 2 ? true : undefined))
  await single.items.until(() => single.items.items.find((i) => i.kind === 'event'))
  expect(gw.gateway.hub.watchedJobs).toBe(2)
  single.close()
  multi.close()
  const deadline = Date.now() + 2_000
  while (gw.gateway.hub.watchedJobs > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  expect(gw.gateway.hub.watchedJobs).toBe(0)
})

it('opens no watch for an SSE client that left while its authorization was in flight', async () => {
  const slow = { open: false, authorize: () => new Promise<{ ok: true }>((resolve) => setTimeout(() => resolve({ ok: true }), 100)) }
  const gateway = createGateway({ authorizer: slow, warnOpenMode: false, security: false, shutdownTimeoutMs: 200 })
  try {
    const { url } = await gateway.listen(0)
    const abort = new AbortController()
    const request = fetch(`${url}/v1/jobs/early/events`, { signal: abort.signal }).catch(() => undefined)
    setTimeout(() => abort.abort(), 20)
    await request
    await new Promise((r) => setTimeout(r, 250))
    expect(gateway.hub.watchedJobs).toBe(0)
  } finally {
    await gateway.close()
  }
})
