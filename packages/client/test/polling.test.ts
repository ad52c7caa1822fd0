import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { createClient, waitForJob, type ClientOptions, type JobEvent } from '../src/index.js'
import { countedTimers, ev, GW, mswServer } from './helpers.js'

const server = mswServer()

const fast = { initial: 10, max: 20, factor: 2 }
const base = (t = countedTimers()): ClientOptions => ({
  url: GW,
  transports: ['polling'],
  poll: fast,
  linger: 0,
  setTimeout: t.setTimeout,
  clearTimeout: t.clearTimeout,
})

/** Serves `steps` in order on GET /v1/jobs/:id (the last one repeats) and records requests. */
function serve(steps: (() => Response)[]) {
  const requests: Request[] = []
  server.use(
    http.get(`${GW}/v1/jobs/:id`, ({ request }) => {
      requests.push(request)
      return steps[Math.min(requests.length - 1, steps.length - 1)]!()
    }),
  )
  return requests
}
/** Checks each gap between successive request times against `expected` (1 ms below, `slack` above). */
function expectGaps(times: number[], expected: number[], slack: number) {
  const gaps = times.slice(1).map((t, i) => t - times[i]!)
  expect(gaps).toHaveLength(expected.length)
  gaps.forEach((gap, i) => {
    expect(gap).toBeGreaterThanOrEqual(expected[i]! - 1)
    expect(gap).toBeLessThanOrEqual(expected[i]! + slack)
  })
}
const json = (job: JobEvent, headers: Record<string, string> = {}) => () =>
  HttpResponse.json(job, { headers: { etag: `"${job.seq}"`, ...headers } })

describe('polling transport', () => {
  it('resolves with the completed event, sends If-None-Match and takes 304s', async () => {
    const a = ev('a', 'active', { progress: 10 })
    const done = ev('a', 'completed', { result: { url: '/f.csv' } })
    const reqs = serve([json(a), () => new HttpResponse(null, { status: 304 }), json(done)])
    const t = countedTimers()
    const client = createClient(base(t))
    const seen: JobEvent[] = []
    const job = await client.waitForJob('a', { onProgress: (j, info) => (seen.push(j), expect(info.transport).toBe('polling')) })
    expect(job).toEqual(done)
    expect(seen).toEqual([a, done])
    expect(reqs.map((r) => r.headers.get('if-none-match'))).toEqual([null, `"${a.seq}"`, `"${a.seq}"`])
    expect(reqs[0]!.url).toBe(`${GW}/v1/jobs/a`)
    await client.close()
    expect(t.pending).toBe(0)
  })

  it('sends the token as a Bearer header, asking the function per job', async () => {
    const reqs = serve([json(ev('job-1', 'completed'))])
    const token = vi.fn(async (id: string) => `t-${id}`)
    await waitForJob('job-1', { ...base(), token })
    expect(token).toHaveBeenCalledWith('job-1')
    expect(reqs[0]!.headers.get('authorization')).toBe('Bearer t-job-1')
  })

  it('backs off with full jitter and never polls sooner than Retry-After', async () => {
    const a = ev('a', 'active')
    const times: number[] = []
    server.use(
      http.get(`${GW}/v1/jobs/:id`, () => {
        times.push(Date.now())
        return times.length < 3 ? HttpResponse.json(a, { headers: { 'retry-after': '0.15' } }) : HttpResponse.json(ev('a', 'completed'))
      }),
    )
    await waitForJob('a', base())
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140)
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(140)
  })

  it('rides out 5xx, 429 and network errors', async () => {
    const reqs = serve([
      () => new HttpResponse('oops', { status: 503 }),
      () => HttpResponse.error(),
      () => new HttpResponse(null, { status: 429 }),
      json(ev('a', 'completed')),
    ])
    expect((await waitForJob('a', base())).status).toBe('completed')
    expect(reqs).toHaveLength(4)
  })

  it('abandons a request that hangs after heartbeatTimeout and polls again', async () => {
    const hung: Request[] = []
    let n = 0
    server.use(
      http.get(`${GW}/v1/jobs/:id`, ({ request }) => {
        if (n++ == 0) {
          hung.push(request)
          return new Promise<Response>(() => {}) // a proxy that holds the request forever
        }
        return HttpResponse.json(ev('a', 'completed'))
      }),
    )
    const t = countedTimers()
    const t0 = Date.now()
    const p = waitForJob('a', { ...base(t), heartbeatTimeout: 150 })
    const outcome = await Promise.race([p, new Promise((r) => setTimeout(r, 2000, 'still waiting'))])
    expect(outcome).toMatchObject({ status: 'completed' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    expect(hung[0]!.signal.aborted).toBe(true)
    expect(n).toBe(2)
    expect(t.pending).toBe(0)
  })

  it('rejects with JobFailedError carrying the producer error, and JobCancelledError', async () => {
    serve([json(ev('a', 'failed', { error: { message: 'disk full', code: 'ENOSPC' } }))])
    await expect(waitForJob('a', base())).rejects.toMatchObject({ name: 'JobFailedError', code: 'job_failed', error: { message: 'disk full', code: 'ENOSPC' } })
    server.resetHandlers()
    serve([json(ev('a', 'cancelled'))])
    await expect(waitForJob('a', base())).rejects.toMatchObject({ name: 'JobCancelledError', job: { status: 'cancelled' } })
  })

  it('401/403 reject with AuthError', async () => {
    serve([() => HttpResponse.json({ error: { code: 'forbidden', message: 'other job' } }, { status: 403 })])
    await expect(waitForJob('a', base())).rejects.toMatchObject({ name: 'AuthError', status: 403, code: 'forbidden' })
    server.resetHandlers()
    serve([() => new HttpResponse('no json', { status: 401 })])
    await expect(waitForJob('a', base())).rejects.toMatchObject({ name: 'AuthError', status: 401, code: 'unauthorized' })
  })

  it('maxAttempts ends with JobTimeoutError(attempts); timeout with JobTimeoutError(deadline)', async () => {
    const a = ev('a', 'active')
    const reqs = serve([json(a)])
    await expect(waitForJob('a', { ...base(), maxAttempts: 3 })).rejects.toMatchObject({ name: 'JobTimeoutError', reason: 'attempts', job: a })
    expect(reqs).toHaveLength(3)
    const t = countedTimers()
    await expect(waitForJob('a', { ...base(t), timeout: 80 })).rejects.toMatchObject({ name: 'JobTimeoutError', reason: 'deadline' })
    expect(t.pending).toBe(0)
  })

  it('follows the exponential schedule (fake timers, jitter at its upper bound)', async () => {
    vi.useFakeTimers()
    const rnd = vi.spyOn(Math, 'random').mockReturnValue(0.9999)
    try {
      const times: number[] = []
      server.use(
        http.get(`${GW}/v1/jobs/:id`, () => {
          times.push(Date.now())
          return HttpResponse.json(ev('a', times.length >= 9 ? 'completed' : 'active'))
        }),
      )
      const p = waitForJob('a', { url: GW, transports: ['polling'] })
      while (times.length < 9) await vi.advanceTimersByTimeAsync(100)
      await p
      expectGaps(times, [1000, 1500, 2250, 3375, 5062, 7593, 10_000, 10_000], 100)
    } finally {
      rnd.mockRestore()
      vi.useRealTimers()
    }
  })

  it('without a Retry-After, a 5-minute job costs tens of requests: the backoff grows to its cap', async () => {
    vi.useFakeTimers()
    try {
      let n = 0
      server.use(
        http.get(`${GW}/v1/jobs/:id`, () => {
          n++
          return HttpResponse.json(ev('a', Date.now() - start > 300_000 ? 'completed' : 'active'))
        }),
      )
      const start = Date.now()
      const p = waitForJob('a', { url: GW, transports: ['polling'] })
      while (Date.now() - start < 320_000 && n < 500) await vi.advanceTimersByTimeAsync(1000)
      expect((await p).status).toBe('completed')
      expect(n).toBeGreaterThan(20)
      expect(n).toBeLessThan(100)
    } finally {
      vi.useRealTimers()
    }
  })

  it("follows the gateway's Retry-After: every gap within [pace, pace + a tenth], however long the job runs", async () => {
    vi.useFakeTimers()
    try {
      const times: number[] = []
      let doneAt = Infinity
      server.use(
        http.get(`${GW}/v1/jobs/:id`, () => {
          times.push(Date.now())
          if (Date.now() >= doneAt) return HttpResponse.json(ev('a', 'completed'))
          return HttpResponse.json(ev('a', 'active'), { headers: { 'retry-after': '1' } })
        }),
      )
      const start = Date.now()
      let settledAt = 0
      const p = waitForJob('a', { url: GW, transports: ['polling'] }).then((j) => ((settledAt = Date.now()), j))
      while (Date.now() - start < 60_000) await vi.advanceTimersByTimeAsync(100)
      // The terminal state becomes available between two polls.
      doneAt = Date.now() + 437
      while (!settledAt) await vi.advanceTimersByTimeAsync(10)
      expect((await p).status).toBe('completed')
      const gaps = times.slice(1).map((t, i) => t - times[i]!)
      expect(gaps.length).toBeGreaterThan(50)
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(1000)
        expect(gap).toBeLessThanOrEqual(1110)
      }
      expect(settledAt - doneAt).toBeLessThanOrEqual(1110)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a 429 waits its Retry-After; answers without one go back to the backoff, starting small', async () => {
    vi.useFakeTimers()
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.9999)
    try {
      const times: number[] = []
      const answers = [
        () => HttpResponse.json(ev('a', 'active'), { headers: { 'retry-after': '1' } }),
        () => HttpResponse.json({ error: { code: 'rate_limited', message: '[jobcast] slow down' } }, { status: 429, headers: { 'retry-after': '3' } }),
        () => new HttpResponse(null, { status: 304 }),
        () => new HttpResponse(null, { status: 304 }),
        () => HttpResponse.json(ev('a', 'completed')),
      ]
      server.use(http.get(`${GW}/v1/jobs/:id`, () => answers[times.push(Date.now()) - 1]!()))
      const p = waitForJob('a', { url: GW, transports: ['polling'] })
      while (times.length < answers.length) await vi.advanceTimersByTimeAsync(50)
      expect((await p).status).toBe('completed')
      // 1 s (Retry-After 1, jitter at its top), 3 s (the 429's Retry-After), then the backoff
      // from its first step again (1000 ms, then 1500 ms at the top of the jitter).
      expectGaps(times, [1100, 3300, 1000, 1500], 50)
    } finally {
      random.mockRestore()
      vi.useRealTimers()
    }
  })

  it('polls through retryable answers (503 bus_unavailable, 500, a proxy 502 without a JSON body)', async () => {
    const reqs = serve([
      () => HttpResponse.json({ error: { code: 'bus_unavailable', message: '[jobcast] Redis is unavailable' } }, { status: 503 }),
      () => HttpResponse.json({ error: { code: 'internal', message: '[jobcast] internal error' } }, { status: 500 }),
      () => new HttpResponse('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } }),
      json(ev('a', 'completed')),
    ])
    expect((await waitForJob('a', base())).status).toBe('completed')
    expect(reqs).toHaveLength(4)
  })

  it('a fatal code rejects at once with that code and one [jobcast] prefix', async () => {
    const reqs = serve([
      () => HttpResponse.json({ error: { code: 'method_not_allowed', message: '[jobcast] use GET' } }, { status: 405 }),
    ])
    const error = await waitForJob('a', base()).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'JobcastClientError', code: 'method_not_allowed', jobId: 'a' })
    expect((error as Error).message).toBe('[jobcast] job a: use GET')
    expect(reqs).toHaveLength(1)
    server.resetHandlers()
    serve([() => HttpResponse.json({ error: { code: 'forbidden', message: '[jobcast] a token for other jobs' } }, { status: 403 })])
    const auth = await waitForJob('a', base()).catch((e: unknown) => e)
    expect((auth as Error).message).toBe('[jobcast] job a: forbidden, check the token. a token for other jobs')
  })
})
