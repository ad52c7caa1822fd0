/**
 * The client's transport contract: every case runs over WebSocket, SSE and polling against a
 * scripted fake gateway (fake-gateway.ts) on real loopback sockets, so the three transports
 * cannot drift apart in what a page waiting on a job learns. It runs on the sources, on the ESM
 * build and on the minified IIFE bundle (both from `npm run build`), whose internal property
 * names and, in the IIFE, eventsource-parser are rewritten by the build (rollup.config.mjs).
 * Errors are matched by `name`: each build has its own classes.
 */
import { existsSync, readFileSync } from 'node:fs'
import { runInNewContext } from 'node:vm'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import {
  createClient,
  isAbortError,
  type ClientOptions,
  type JobcastClient,
  type JobEvent,
  type StateChange,
  type TransportName,
} from '../src/index.js'
import { startFakeGateway, type FakeGateway } from './fake-gateway.js'
import { countedTimers, ev, sleep, until } from './helpers.js'

const GRACE = 300

let gateway: FakeGateway
let timers: ReturnType<typeof countedTimers>
/** Clients of the running test, closed after it even when it fails half-way. */
const clients: JobcastClient[] = []
beforeEach(async () => {
  gateway = await startFakeGateway()
  timers = countedTimers()
})
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await gateway.close()
})

/** `createClient` of dist/jobcast.iife.js, run as a page would (`window.Jobcast`). */
const bundledCreateClient = (): typeof createClient => {
  const file = new URL('../dist/jobcast.iife.js', import.meta.url)
  if (!existsSync(file)) throw new Error('[jobcast] packages/client/dist/jobcast.iife.js is missing: run `npm run build` first')
  const code = readFileSync(file, 'utf8')
  const page: Record<string, unknown> = { fetch, setTimeout, clearTimeout, queueMicrotask, AbortController, TextDecoder, DOMException, console }
  page.globalThis = page
  runInNewContext(code, page)
  return (page.Jobcast as { createClient: typeof createClient }).createClient
}

/** `createClient` of dist/index.js, the ESM build that bundlers take. */
const esmCreateClient = async (): Promise<typeof createClient> => {
  const file = new URL('../dist/index.js', import.meta.url)
  if (!existsSync(file)) throw new Error('[jobcast] packages/client/dist/index.js is missing: run `npm run build` first')
  return ((await import(/* @vite-ignore */ file.href)) as { createClient: typeof createClient }).createClient
}

const builds = { sources: createClient, 'ESM build': await esmCreateClient(), 'IIFE bundle': bundledCreateClient() }
const cases = Object.entries(builds).flatMap(([build, create]) =>
  (['websocket', 'sse', 'polling'] as const).map((transport) => ({ build, create, transport })),
)

describe.each(cases)('transport contract over $transport ($build)', ({ create, transport }) => {
  const newClient = (extra: Partial<ClientOptions> = {}) => {
    const created = create(options(extra))
    clients.push(created)
    return created
  }
  const options = (extra: Partial<ClientOptions>): ClientOptions => ({
    url: gateway.url,
    transports: [transport],
    WebSocket,
    token: 'ok',
    linger: 0,
    connectTimeout: 2000,
    reconnect: { initial: 20, max: 40, factor: 2 },
    poll: { initial: 20, max: 40, factor: 2 },
    notFoundGrace: GRACE,
    lostGrace: GRACE,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    ...extra,
  })
  /** Starts a wait that records every update. */
  const waitRecording = (client: JobcastClient, id: string, signal?: AbortSignal) => {
    const updates: JobEvent[] = []
    const outcome = client.waitForJob(id, { signal, onProgress: (job) => updates.push(job) })
    outcome.catch(() => {})
    return { updates, outcome }
  }
  const asksFor = (id: string) => gateway.asks.filter((ask) => ask.id == id)

  it('resolves with the completed event after every update, in order', async () => {
    const client = newClient()
    const active = ev('job-1', 'active', { progress: 40 })
    const completed = ev('job-1', 'completed', { result: { url: '/f.csv' } })
    gateway.publish(active)
    const { updates, outcome } = waitRecording(client, 'job-1')
    await until(() => updates.length == 1)
    gateway.publish(completed)
    await expect(outcome).resolves.toEqual(completed)
    expect(updates).toEqual([active, completed])
    expect(client.transport).toBe(transport)
    await client.close()
    expect(timers.pending).toBe(0)
  })

  it('resumes from its cursor after a drop and never repeats an event, even when the gateway replays', async () => {
    const client = newClient()
    const events = [ev('job-1', 'active', { progress: 10 }), ev('job-1', 'active', { progress: 50 })]
    gateway.publish(events[0]!)
    const { updates, outcome } = waitRecording(client, 'job-1')
    await until(() => updates.length == 1)
    gateway.publish(events[1]!)
    await until(() => updates.length == 2)
    const asksBefore = asksFor('job-1').length
    gateway.ignoreCursor = true
    gateway.drop()
    // Published while the connection is down: the resume must bring it.
    const missed = ev('job-1', 'active', { progress: 90 })
    gateway.publish(missed)
    // Push transports get the whole history replayed on resubscribing; polling gets the
    // latest event again on the poll after it.
    await until(() => updates.length == 3 && (transport != 'polling' || asksFor('job-1').some((ask) => ask.since == missed.seq)))
    const completed = ev('job-1', 'completed')
    gateway.publish(completed)
    await expect(outcome).resolves.toEqual(completed)
    expect(updates).toEqual([...events, missed, completed])
    expect(asksFor('job-1')[asksBefore]!.since).toBe(events[1]!.seq)
    await client.close()
  })

  it('token_expired: asks the token function again and resumes from the cursor', async () => {
    let calls = 0
    const client = newClient({ token: () => `token-${++calls}` })
    const active = ev('job-1', 'active')
    gateway.publish(active)
    const { updates, outcome } = waitRecording(client, 'job-1')
    await until(() => updates.length == 1)
    gateway.authorize = (_id, token) => (token == 'token-1' ? 'token_expired' : undefined)
    gateway.revalidate()
    await until(() => asksFor('job-1').some((ask) => ask.token == 'token-2'))
    const completed = ev('job-1', 'completed')
    gateway.publish(completed)
    await expect(outcome).resolves.toEqual(completed)
    expect(updates).toEqual([active, completed])
    const refreshed = asksFor('job-1').filter((ask) => ask.token == 'token-2')
    expect(refreshed[0]!.since).toBe(active.seq)
    expect(new Set(asksFor('job-1').map((ask) => ask.token))).toEqual(new Set(['token-1', 'token-2']))
    await client.close()
  })

  it('forbidden rejects with AuthError (403) carrying the job id', async () => {
    gateway.authorize = () => 'forbidden'
    gateway.publish(ev('job-1', 'active'))
    const client = newClient()
    const error = await client.waitForJob('job-1').catch((error: unknown) => error)
    expect(error).toMatchObject({ name: 'AuthError', code: 'forbidden', status: 403, jobId: 'job-1' })
    await client.close()
    expect(timers.pending).toBe(0)
  })

  it('not-found grace: a job published within it resolves; one never published ends with JobNotFoundError after it', async () => {
    const client = newClient()
    const late = waitRecording(client, 'late')
    const startedAt = Date.now()
    const never = client.waitForJob('never').catch((error: unknown) => error)
    await until(() => asksFor('late').length > 0)
    const completed = ev('late', 'completed')
    gateway.publish(completed)
    await expect(late.outcome).resolves.toEqual(completed)
    const error = await never
    expect(error).toMatchObject({ name: 'JobNotFoundError', code: 'job_not_found', jobId: 'never' })
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(GRACE - 5)
    await client.close()
  })

  it('lost grace: a job seen, then unknown to the gateway, ends with JobLostError carrying the last event', async () => {
    const client = newClient()
    const active = ev('job-1', 'active', { progress: 70 })
    gateway.publish(active)
    const { updates, outcome } = waitRecording(client, 'job-1')
    await until(() => updates.length == 1)
    gateway.forget('job-1')
    gateway.drop()
    const lostAt = Date.now()
    const error = await outcome.catch((error: unknown) => error)
    expect(error).toMatchObject({ name: 'JobLostError', code: 'job_lost', jobId: 'job-1', job: active })
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(GRACE - 5)
    // Asked again after the drop and once more after the grace, each time from its cursor.
    const asksAfter = asksFor('job-1').filter((ask) => ask.since == active.seq)
    expect(asksAfter.length).toBeGreaterThanOrEqual(2)
    await client.close()
  })

  it('abort: rejects with AbortError and lets the job go (no connection, no ask, no timer left)', async () => {
    const client = newClient()
    gateway.publish(ev('job-1', 'active'))
    const controller = new AbortController()
    const { updates, outcome } = waitRecording(client, 'job-1', controller.signal)
    await until(() => updates.length == 1)
    controller.abort()
    await expect(outcome).rejects.toSatisfy(isAbortError)
    await until(() => gateway.openConnections == 0 && client.state == 'idle')
    const asks = gateway.asks.length
    await sleep(150)
    expect(gateway.asks.length).toBe(asks)
    expect(timers.pending).toBe(0)
    await client.close()
  })

  it('drop and reconnect: the same transport comes back and the wait carries on', async () => {
    const changes: StateChange[] = []
    const client = newClient({ onStateChange: (change) => changes.push(change) })
    gateway.publish(ev('job-1', 'active'))
    const { updates, outcome } = waitRecording(client, 'job-1')
    await until(() => updates.length == 1)
    const asksBefore = gateway.asks.length
    gateway.drop()
    await until(() => gateway.asks.length > asksBefore && client.state == 'connected')
    gateway.publish(ev('job-1', 'completed'))
    await expect(outcome).resolves.toMatchObject({ status: 'completed' })
    expect(changes.every((change) => change.transport == transport || change.transport == undefined)).toBe(true)
    // A push connection goes through `reconnecting`; polling rides out the failed request.
    const states = changes.map((change) => change.state)
    if (transport == 'polling') expect(states).toEqual(['connecting', 'connected'])
    else expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connecting', 'connected'])
    await client.close()
  })

  it('a retryable error (bus_unavailable), then success: asks again and resolves', async () => {
    const client = newClient()
    gateway.refuseNext('job-1', 'bus_unavailable')
    const completed = ev('job-1', 'completed')
    gateway.publish(completed)
    await expect(client.waitForJob('job-1')).resolves.toEqual(completed)
    expect(asksFor('job-1').length).toBeGreaterThanOrEqual(2)
    await client.close()
    expect(timers.pending).toBe(0)
  })

  it.each([
    ['the gateway', false],
    ['a plain web server', true],
  ])('a url where %s has no such route (a wrong base path) ends every wait with GatewayError at once', async (_, plainNotFound) => {
    gateway.plainNotFound = plainNotFound
    gateway.publish(ev('job-1', 'active'))
    const url = gateway.url + '/jobcast'
    const client = newClient({ url })
    const startedAt = Date.now()
    const errors = await Promise.all(['job-1', 'job-2'].map((id) => client.waitForJob(id).catch((error: unknown) => error)))
    for (const error of errors) expect(error).toMatchObject({ name: 'GatewayError', code: 'not_found', url, jobId: undefined })
    expect((errors[0] as Error).message).toBe(`[jobcast] no gateway at ${url} (404 on every transport): check url and the gateway's base path`)
    // Not a job that is missing: no not-found grace, no ask reached the gateway's routes.
    expect(Date.now() - startedAt).toBeLessThan(GRACE)
    expect(gateway.asks).toEqual([])
    expect(client.state).toBe('idle')
    await client.close()
    expect(timers.pending).toBe(0)
  })

  it('nothing listening: unavailable with one console warning, retrying; the wait settles once the gateway listens', async () => {
    const port = Number(new URL(gateway.url).port)
    await gateway.close()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const changes: StateChange[] = []
    const client = newClient({ onStateChange: (change) => changes.push(change) })
    const { updates, outcome } = waitRecording(client, 'job-1')
    await until(() => client.state == 'unavailable')
    expect(changes.at(-1)).toEqual({ state: 'unavailable', previous: 'connecting', transport: undefined, reason: 'unreachable' })
    expect(client.transport).toBeUndefined()
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0]![0]).toBe(
      `[jobcast] cannot reach ${gateway.url} over ${transport}: nothing listening, or CORS/origin refused (--cors-origin)`,
    )
    // More failed runs: the state stays, the warning is not repeated.
    await sleep(300)
    expect(client.state).toBe('unavailable')
    expect(changes.at(-1)!.state).toBe('unavailable')
    expect(warn).toHaveBeenCalledTimes(1)
    gateway = await startFakeGateway(port)
    const completed = ev('job-1', 'completed')
    gateway.publish(completed)
    await expect(outcome).resolves.toEqual(completed)
    expect(updates).toEqual([completed])
    expect(changes.at(-1)).toMatchObject({ state: 'connected', previous: 'unavailable', transport })
    expect(warn).toHaveBeenCalledTimes(1)
    await client.close()
    expect(timers.pending).toBe(0)
  })
})
