/**
 * A job the client has seen that the gateway then no longer knows (Redis restarted without
 * its data and nothing restored the snapshot) ends with JobLostError after `lostGrace`,
 * instead of a wait that never ends. Polling over msw with fake timers, at the default
 * graces; the same case over every transport is in transport-contract.test.ts.
 */
import { http, HttpResponse } from 'msw'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { JobLostError, isJobLostError, waitForJob, type JobEvent } from '../src/index.js'
import { ev, GW, mswServer } from './helpers.js'

const server = mswServer()

const notFound = () => HttpResponse.json({ error: { code: 'job_not_found', message: '[jobcast] no job a' } }, { status: 404 })
const busDown = () => HttpResponse.json({ error: { code: 'bus_unavailable', message: '[jobcast] Redis is unavailable' } }, { status: 503 })
const running = (job: JobEvent) => () => HttpResponse.json(job, { headers: { etag: `"${job.seq}"`, 'retry-after': '1' } })

/** Answers GET /v1/jobs/a by the fake clock: `answer(msSinceStart)`. */
function serveByTime(answer: (elapsed: number) => Response) {
  const start = Date.now()
  server.use(http.get(`${GW}/v1/jobs/:id`, () => answer(Date.now() - start)))
}

/** Runs the fake clock until the wait settles (or `limit` ms pass); returns the outcome and when. */
async function settle(wait: Promise<JobEvent>, limit = 120_000) {
  const start = Date.now()
  let outcome: { value?: JobEvent; error?: unknown; at: number } | undefined
  wait.then(
    (value) => (outcome = { value, at: Date.now() - start }),
    (error: unknown) => (outcome = { error, at: Date.now() - start }),
  )
  while (!outcome && Date.now() - start < limit) await vi.advanceTimersByTimeAsync(100)
  return outcome
}

describe('polling', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('a job seen, then 404 for good: JobLostError after lostGrace, carrying the last event', async () => {
    vi.useFakeTimers()
    const active = ev('a', 'active', { progress: 40 })
    serveByTime((elapsed) => (elapsed < 5000 ? running(active)() : notFound()))
    const outcome = await settle(waitForJob('a', { url: GW, transports: ['polling'] }))
    const error = outcome?.error
    expect(error).toBeInstanceOf(JobLostError)
    expect(isJobLostError(error)).toBe(true)
    expect(error).toMatchObject({ name: 'JobLostError', code: 'job_lost', jobId: 'a', job: active })
    expect((error as Error).message).toMatch(/^\[jobcast\] job a \(last active\) is no longer known to the gateway: Redis lost its data/)
    // The first 404 comes at most a poll (1.1 s) after the snapshot went; then the 30 s grace.
    expect(outcome!.at).toBeGreaterThanOrEqual(5000 + 30_000)
    expect(outcome!.at).toBeLessThanOrEqual(5000 + 1100 + 30_000 + 200)
  })

  it('a job never seen asks once more when notFoundGrace ends: one published between two backed-off polls is found', async () => {
    vi.useFakeTimers()
    // The top of every jitter range: polls at 0, 1, 2.5, 4.75, 8.1, 13.2 s (404s carry no Retry-After).
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999)
    try {
      const done = ev('a', 'completed')
      // Published at 8.5 s: without the last ask, the grace (10 s) ends before the 13.2 s poll.
      serveByTime((elapsed) => (elapsed < 8500 ? notFound() : HttpResponse.json(done)))
      const outcome = await settle(waitForJob('a', { url: GW, transports: ['polling'] }))
      expect(outcome?.value).toEqual(done)
      expect(outcome!.at).toBeLessThan(11_000)
    } finally {
      random.mockRestore()
    }
  })

  it('the grace ends as soon as the job is known again (a restored snapshot: 304), and starts anew', async () => {
    vi.useFakeTimers()
    // Half of every jitter range, so the polls fall at known times.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5)
    try {
      const active = ev('a', 'active')
      const done = ev('a', 'completed')
      // Known, unknown for 20 s, restored (same seq: 304), unknown for 20 s more, then completed:
      // with a 25 s grace that never ended, the second unknown stretch would end the wait.
      serveByTime((elapsed) =>
        elapsed < 2000
          ? running(active)()
          : elapsed < 22_000 || (elapsed >= 26_000 && elapsed < 46_000)
            ? notFound()
            : elapsed < 26_000
              ? new HttpResponse(null, { status: 304, headers: { 'retry-after': '1' } })
              : HttpResponse.json(done),
      )
      const outcome = await settle(waitForJob('a', { url: GW, transports: ['polling'], lostGrace: 25_000 }))
      expect(outcome?.value).toEqual(done)
    } finally {
      random.mockRestore()
    }
  })

  it('503 bus_unavailable is not "unknown": a minute of it never starts the grace', async () => {
    vi.useFakeTimers()
    const active = ev('a', 'active')
    const done = ev('a', 'completed')
    serveByTime((elapsed) => (elapsed < 2000 ? running(active)() : elapsed < 62_000 ? busDown() : HttpResponse.json(done)))
    const outcome = await settle(waitForJob('a', { url: GW, transports: ['polling'], lostGrace: 10_000 }))
    expect(outcome?.value).toEqual(done)
  })

  it('a job never seen still ends with JobNotFoundError after notFoundGrace, not lostGrace', async () => {
    vi.useFakeTimers()
    serveByTime(notFound)
    const outcome = await settle(waitForJob('a', { url: GW, transports: ['polling'], notFoundGrace: 3000, lostGrace: 60_000 }))
    expect(outcome?.error).toMatchObject({ name: 'JobNotFoundError' })
    expect(outcome!.at).toBeLessThan(4000)
  })
})
