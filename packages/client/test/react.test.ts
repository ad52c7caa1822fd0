// @vitest-environment happy-dom
/**
 * `useJob` rendered by React 19 (react-dom/client) against a real gateway (embedded bus), with
 * `ws` as the WebSocket. The same hook runs in Chromium in test/browser/components.test.ts.
 */
import { StrictMode, createElement, type ReactNode } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import WebSocket from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startGateway, type TestGateway } from '../../../test/support/gateway.js'
import { createPublisher, type Publisher } from '../../gateway/src/publisher.js'
import { RELEASE_DELAY_MS, sharedClientCount } from '../src/element/client-cache.js'
import { createClient } from '../src/index.js'
import { useJob, type UseJobOptions, type UseJobResult } from '../src/react/index.js'

// Updates arrive from a socket, outside any act() scope: let React schedule them as in a
// browser and wait for the renders instead.
;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false

let gw: TestGateway
let publisher: Publisher
let sockets = 0
class CountingWebSocket extends WebSocket {
  constructor(url: string) {
    super(url)
    sockets++
  }
}

beforeAll(async () => {
  gw = await startGateway()
  publisher = createPublisher({ bus: gw.gateway.bus })
})

afterAll(async () => {
  await publisher.close()
  await gw.close()
})

let root: Root | undefined
afterEach(async () => {
  root?.unmount()
  root = undefined
  await vi.waitFor(() => expect(sharedClientCount()).toBe(0), { timeout: RELEASE_DELAY_MS + 1000 })
})

let n = 0
const jobId = (name: string) => `${name}-${Date.now()}-${++n}`

/** Renders a component calling useJob and records every result it rendered. */
async function renderHook(id: string | undefined, options: UseJobOptions, strict = false) {
  const renders: UseJobResult[] = []
  let setId: (id: string | undefined) => Promise<void> = async () => {}
  const container = document.createElement('div')
  document.body.append(container)
  root = createRoot(container)
  function Probe({ jobId: current }: { jobId: string | undefined }): ReactNode {
    renders.push(useJob(current, options))
    return null
  }
  const render = async (current: string | undefined) => {
    const count = renders.length
    const probe = createElement(Probe, { jobId: current })
    root!.render(strict ? createElement(StrictMode, null, probe) : probe)
    await vi.waitFor(() => expect(renders.length).toBeGreaterThan(count))
  }
  await render(id)
  setId = render
  return { renders, latest: () => renders.at(-1)!, setId: (next: string | undefined) => setId(next) }
}

const options: UseJobOptions = { WebSocket: CountingWebSocket as never }

describe('useJob', () => {
  it('follows a job to completion: job, status, progress, transport', async () => {
    const id = jobId('export')
    await publisher.active(id, { progress: 20, message: 'Working' })
    const hook = await renderHook(id, { ...options, url: gw.url })
    expect(hook.renders[0]).toMatchObject({ status: 'connecting', progress: 0, job: undefined, error: undefined })
    await vi.waitFor(() => expect(hook.latest().progress).toBe(20))
    expect(hook.latest()).toMatchObject({ status: 'active', transport: 'websocket', error: undefined })
    expect(hook.latest().job?.message).toBe('Working')
    await publisher.complete(id, { downloadUrl: '/f.csv' })
    await vi.waitFor(() => expect(hook.latest().status).toBe('completed'))
    expect(hook.latest().progress).toBe(100)
    expect(hook.latest().job?.result).toEqual({ downloadUrl: '/f.csv' })
  })

  it('reports a failed job as a JobFailedError carrying the producer’s error', async () => {
    const id = jobId('fail')
    await publisher.active(id, { progress: 10 })
    const hook = await renderHook(id, { ...options, url: gw.url })
    await vi.waitFor(() => expect(hook.latest().progress).toBe(10))
    await publisher.fail(id, { message: 'Disk full', code: 'disk_full' })
    await vi.waitFor(() => expect(hook.latest().status).toBe('failed'))
    expect(hook.latest().progress).toBe(10) // a failed event without progress keeps the last one
    const error = hook.latest().error as Error & { error?: unknown }
    expect(error.name).toBe('JobFailedError')
    expect(error.error).toEqual({ message: 'Disk full', code: 'disk_full' })
  })

  it('is StrictMode-safe: the double mount opens one socket', async () => {
    const id = jobId('strict')
    await publisher.active(id, { progress: 5 })
    const before = sockets
    const hook = await renderHook(id, { ...options, url: gw.url }, true)
    await vi.waitFor(() => expect(hook.latest().progress).toBe(5))
    await publisher.progress(id, 50)
    await vi.waitFor(() => expect(hook.latest().progress).toBe(50))
    expect(sockets - before).toBe(1)
    expect(sharedClientCount()).toBe(1)
  })

  it('switches on id change without showing the old job, and watches nothing for no id', async () => {
    const a = jobId('a')
    const b = jobId('b')
    await publisher.active(a, { progress: 30 })
    await publisher.active(b, { progress: 70 })
    const hook = await renderHook(a, { ...options, url: gw.url })
    await vi.waitFor(() => expect(hook.latest().progress).toBe(30))
    await hook.setId(b)
    // The first render for b must not show a's state.
    const firstForB = hook.renders.findIndex((r, i) => i > 0 && r.job?.id !== a && r.status === 'connecting')
    expect(firstForB).toBeGreaterThan(0)
    await vi.waitFor(() => expect(hook.latest().job?.id).toBe(b))
    expect(hook.latest().progress).toBe(70)
    await publisher.progress(a, 90) // a is no longer watched
    await publisher.progress(b, 75)
    await vi.waitFor(() => expect(hook.latest().progress).toBe(75))
    expect(hook.renders.slice(hook.renders.findIndex((r) => r.job?.id === b)).every((r) => r.job?.id === b)).toBe(true)
    await hook.setId(undefined)
    await vi.waitFor(() => expect(hook.latest().status).toBe('idle'))
    expect(hook.latest()).toMatchObject({ status: 'idle', job: undefined, progress: 0 })
  })

  it('uses a given client and leaves it open on unmount', async () => {
    const client = createClient({ url: gw.url, WebSocket: WebSocket as never })
    const id = jobId('own')
    await publisher.active(id, { progress: 15 })
    const hook = await renderHook(id, { client })
    await vi.waitFor(() => expect(hook.latest().progress).toBe(15))
    expect(sharedClientCount()).toBe(0)
    root?.unmount()
    root = undefined
    const stillOpen = await client.waitForJob(id, { timeout: 200 }).catch((e: Error) => e.name)
    expect(stillOpen).toBe('JobTimeoutError')
    await client.close()
  })
})
