import { http, HttpResponse } from 'msw'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { createClient, isAbortError, waitForJob, type ClientOptions, type JobEvent } from '../src/index.js'
import { countedTimers, ev, GW, mswServer, sleep, until } from './helpers.js'

const server = mswServer()

const base = (t = countedTimers()): ClientOptions => ({
  url: GW,
  transports: ['polling'],
  poll: { initial: 10, max: 20, factor: 2 },
  linger: 0,
  setTimeout: t.setTimeout,
  clearTimeout: t.clearTimeout,
})

/** Serves a job whose events advance one step per request; records request count. */
function script(events: JobEvent[]) {
  const state = { n: 0 }
  server.use(
    http.get(`${GW}/v1/jobs/:id`, () => {
      const e = events[Math.min(state.n++, events.length - 1)]!
      return HttpResponse.json(e)
    }),
  )
  return state
}

describe('client API', () => {
  it('watch yields every update and ends after the terminal one; a second watcher starts from the current state', async () => {
    const evs = [ev('a', 'queued'), ev('a', 'active', { progress: 50 }), ev('a', 'failed', { error: { message: 'x' } })]
    script(evs)
    const client = createClient({ ...base(), poll: { initial: 40, max: 40, factor: 1 } })
    const first: JobEvent[] = []
    const second: JobEvent[] = []
    const w2 = (async () => {
      await until(() => first.length === 1)
      for await (const j of client.watch('a')) second.push(j)
    })()
    for await (const j of client.watch('a')) first.push(j)
    await w2
    expect(first).toEqual(evs)
    expect(second[0]).toEqual(evs[0])
    expect(second.at(-1)).toEqual(evs[2])
    await client.close()
  })

  it('breaking out of watch releases the job', async () => {
    const st = script([ev('a', 'active')])
    const t = countedTimers()
    const client = createClient(base(t))
    for await (const j of client.watch('a')) {
      expect(j.status).toBe('active')
      break
    }
    const n = st.n
    await sleep(60)
    expect(st.n).toBe(n)
    expect(t.pending).toBe(0)
    await client.close()
  })

  it('subscribe calls back per update; the returned function stops it; errors go to onError', async () => {
    script([ev('a', 'active', { progress: 1 }), ev('a', 'active', { progress: 2 }), ev('a', 'active', { progress: 3 })])
    const client = createClient(base())
    const got: number[] = []
    const stop = client.subscribe('a', (j) => got.push(j.progress!))
    await until(() => got.length >= 2)
    stop()
    stop()
    const n = got.length
    await sleep(50)
    expect(got.length).toBe(n)
    const onError = vi.fn()
    client.subscribe('bad id!', () => {}, { onError })
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'invalid_job_id' }))
    await client.close()
  })

  it('an invalid id rejects at once without a request', async () => {
    const st = script([ev('a', 'completed')])
    await expect(waitForJob('a/b', base())).rejects.toMatchObject({ name: 'JobcastClientError', code: 'invalid_job_id' })
    await expect(waitForJob('x'.repeat(129), base())).rejects.toMatchObject({ code: 'invalid_job_id' })
    expect(st.n).toBe(0)
  })

  it('abort: before start, while waiting for the first response, during a backoff wait', async () => {
    const t = countedTimers()
    const client = createClient(base(t))
    const st = script([ev('a', 'active')])
    const pre = AbortSignal.abort()
    await expect(client.waitForJob('a', { signal: pre })).rejects.toSatisfy(isAbortError)
    expect(st.n).toBe(0)

    const c1 = new AbortController()
    const p1 = client.waitForJob('a', { signal: c1.signal })
    c1.abort()
    await expect(p1).rejects.toMatchObject({ name: 'AbortError' })

    const c2 = new AbortController()
    const p2 = client.waitForJob('a', { signal: c2.signal, onProgress: () => setTimeout(() => c2.abort(), 5) })
    await expect(p2).rejects.toBeInstanceOf(DOMException)
    await sleep(30)
    expect(t.pending).toBe(0)
    const settled = st.n
    await sleep(50)
    expect(st.n).toBe(settled) // nothing polls any more
    // Aborting after settling changes nothing.
    c2.abort()
    await client.close()
  })

  it('removes its abort listener when a wait settles', async () => {
    script([ev('a', 'completed')])
    const ctl = new AbortController()
    let listeners = 0
    const add = ctl.signal.addEventListener.bind(ctl.signal)
    const remove = ctl.signal.removeEventListener.bind(ctl.signal)
    ctl.signal.addEventListener = (...a: Parameters<AbortSignal['addEventListener']>) => (listeners++, add(...a))
    ctl.signal.removeEventListener = (...a: Parameters<AbortSignal['removeEventListener']>) => (listeners--, remove(...a))
    await waitForJob('a', { ...base(), signal: ctl.signal })
    expect(listeners).toBe(0)
    await expect(waitForJob('a', { ...base(), signal: ctl.signal, timeout: 1000 })).resolves.toBeDefined()
    expect(listeners).toBe(0)
  })

  it('close() rejects pending waits with client_closed, is idempotent, and later waits reject', async () => {
    script([ev('a', 'active')])
    const t = countedTimers()
    const client = createClient(base(t))
    const p = client.waitForJob('a')
    const w = client.watch('b')
    const wNext = w.next()
    await sleep(20)
    const c1 = client.close()
    expect(client.close()).toBe(c1)
    await c1
    await expect(p).rejects.toMatchObject({ code: 'client_closed' })
    await expect(wNext).rejects.toMatchObject({ code: 'client_closed' })
    await expect(client.waitForJob('c')).rejects.toMatchObject({ code: 'client_closed' })
    expect(client.state).toBe('closed')
    expect(t.pending).toBe(0)
  })

  it('a token function that throws fails that job with token_error', async () => {
    script([ev('a', 'completed')])
    await expect(
      waitForJob('a', {
        ...base(),
        token: () => {
          throw new Error('no session')
        },
      }),
    ).rejects.toMatchObject({ code: 'token_error', cause: { message: 'no session' } })
  })

  it('the deadline is checked against the clock, not only a timer (throttled background tab)', async () => {
    server.use(http.get(`${GW}/v1/jobs/:id`, () => HttpResponse.json(ev('a', 'active'))))
    // Timers of 100 ms or more never fire, like a frozen tab; short poll delays still do.
    const throttled = {
      setTimeout: (f: () => void, ms: number) => setTimeout(f, ms >= 100 ? 1e7 : ms),
      clearTimeout: (t: unknown) => clearTimeout(t as ReturnType<typeof setTimeout>),
    }
    const t0 = Date.now()
    await expect(waitForJob('a', { ...base(), ...throttled, timeout: 100 })).rejects.toMatchObject({ name: 'JobTimeoutError', reason: 'deadline', job: { status: 'active' } })
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('a timeout beyond what a timer can hold (Infinity, 30 days) does not spin', async () => {
    server.use(http.get(`${GW}/v1/jobs/:id`, () => HttpResponse.json(ev('a', 'active'))))
    for (const timeout of [Infinity, 30 * 86_400_000]) {
      const delays: number[] = []
      const t = countedTimers()
      const client = createClient({ ...base(t), poll: { initial: 1e6, max: 1e6, factor: 1 }, setTimeout: (f, ms) => (delays.push(ms), t.setTimeout(f, ms)) })
      const ctl = new AbortController()
      const p = client.waitForJob('a', { timeout, signal: ctl.signal })
      await sleep(50)
      // Timers past 2^31-1 ms fire at once (browsers and Node): the deadline check would loop.
      expect(delays.filter((ms) => ms > 2 ** 31 - 1 || ms < 0)).toEqual([])
      expect(delays.length).toBeLessThan(5)
      ctl.abort()
      await expect(p).rejects.toMatchObject({ name: 'AbortError' })
      await client.close()
      expect(t.pending).toBe(0)
    }
  })

  it('standalone waitForJob leaves no timer behind, whatever the outcome', async () => {
    for (const status of ['completed', 'failed', 'cancelled'] as const) {
      script([ev('a', 'active'), ev('a', status)])
      const t = countedTimers()
      await waitForJob('a', base(t)).catch(() => {})
      expect(t.pending).toBe(0)
    }
  })

  it('a throwing onProgress rejects the wait instead of escaping', async () => {
    script([ev('a', 'active')])
    await expect(
      waitForJob('a', {
        ...base(),
        onProgress: () => {
          throw new Error('render bug')
        },
      }),
    ).rejects.toThrow('render bug')
  })
})

describe('page visibility and connectivity (polling)', () => {
  it('slows down while hidden, polls at once when visible again or back online', async () => {
    const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' as DocumentVisibilityState })
    const win = new EventTarget()
    const g = globalThis as Record<string, unknown>
    let listeners = 0
    const counted = (t: EventTarget) => {
      const add = t.addEventListener.bind(t)
      const remove = t.removeEventListener.bind(t)
      return {
        add: (...a: Parameters<EventTarget['addEventListener']>) => (listeners++, add(...a)),
        remove: (...a: Parameters<EventTarget['removeEventListener']>) => (listeners--, remove(...a)),
      }
    }
    const d = counted(doc)
    doc.addEventListener = d.add
    doc.removeEventListener = d.remove
    const w = counted(win)
    g.document = doc
    g.addEventListener = w.add
    g.removeEventListener = w.remove
    try {
      const times: number[] = []
      server.use(
        http.get(`${GW}/v1/jobs/:id`, () => {
          times.push(Date.now())
          return HttpResponse.json(ev('a', times.length >= 3 ? 'completed' : 'active'))
        }),
      )
      const rnd = vi.spyOn(Math, 'random').mockReturnValue(0.5) // poll delays: 25 ms, 25 s while hidden
      onTestFinished(() => rnd.mockRestore())
      const p = waitForJob('a', { ...base(), poll: { initial: 50, max: 50, factor: 1 }, hiddenSlowdown: 1000 })
      await until(() => times.length === 1)
      await sleep(100)
      expect(times).toHaveLength(1) // hidden: the next poll is 25 s away
      doc.visibilityState = 'visible'
      doc.dispatchEvent(new Event('visibilitychange'))
      await until(() => times.length === 2)
      doc.visibilityState = 'hidden'
      await sleep(30)
      win.dispatchEvent(new Event('online')) // polls even while hidden
      await expect(p).resolves.toMatchObject({ status: 'completed' })
      expect(times).toHaveLength(3)
      expect(listeners).toBe(0) // visibilitychange and online listeners removed
    } finally {
      delete g.document
      delete g.addEventListener
      delete g.removeEventListener
    }
  })
})
