// @vitest-environment happy-dom
/**
 * `<jobcast-progress>` against a real gateway (embedded bus), with `ws` as the WebSocket.
 * The same element runs in Chromium in test/browser/components.test.ts.
 */
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startGateway, type TestGateway } from '../../../test/support/gateway.js'
import { createPublisher, type Publisher } from '../../gateway/src/publisher.js'
import { RELEASE_DELAY_MS, sharedClientCount } from '../src/element/client-cache.js'
import { JobcastProgressElement, defineJobcastProgress, type JobcastProgressDetail } from '../src/element/index.js'

let gw: TestGateway
let publisher: Publisher
let constructed = 0
const realWebSocket = globalThis.WebSocket

beforeAll(async () => {
  gw = await startGateway()
  publisher = createPublisher({ bus: gw.gateway.bus })
  // The element builds its shared client from the globals, as in a browser.
  globalThis.WebSocket = class extends WebSocket {
    constructor(url: string) {
      super(url)
      constructed++
    }
  } as unknown as typeof globalThis.WebSocket
})

afterAll(async () => {
  globalThis.WebSocket = realWebSocket
  await publisher.close()
  await gw.close()
})

let n = 0
const jobId = (name: string) => `${name}-${Date.now()}-${++n}`

function mount(attrs: Record<string, string>): JobcastProgressElement {
  const el = document.createElement('jobcast-progress')
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v)
  document.body.append(el)
  return el
}

function record(target: EventTarget): Array<{ type: string; detail: JobcastProgressDetail; bubbles: boolean; composed: boolean }> {
  const seen: Array<{ type: string; detail: JobcastProgressDetail; bubbles: boolean; composed: boolean }> = []
  for (const type of ['jobcast:progress', 'jobcast:completed', 'jobcast:failed']) {
    target.addEventListener(type, (e) => {
      const ce = e as CustomEvent<JobcastProgressDetail>
      seen.push({ type, detail: ce.detail, bubbles: ce.bubbles, composed: ce.composed })
    })
  }
  return seen
}

const part = (el: JobcastProgressElement, name: string) => el.shadowRoot!.querySelector(`[part="${name}"]`) as HTMLElement

describe('<jobcast-progress>', () => {
  it('is defined once, even when registered again', async () => {
    expect(customElements.get('jobcast-progress')).toBe(JobcastProgressElement)
    expect(() => defineJobcastProgress()).not.toThrow()
    await import('../src/element/index.js')
    expect(customElements.get('jobcast-progress')).toBe(JobcastProgressElement)
  })

  it('renders an accessible bar, follows the job and emits bubbling, composed events', async () => {
    const id = jobId('export')
    await publisher.active(id, { progress: 10, message: 'Exported 100 rows' })
    const seen = record(document)
    const el = mount({ job: id, src: gw.url, label: 'Nightly export' })
    const bar = part(el, 'track')
    expect(bar.getAttribute('role')).toBe('progressbar')
    expect(bar.getAttribute('aria-valuemin')).toBe('0')
    expect(bar.getAttribute('aria-valuemax')).toBe('100')
    expect(bar.getAttribute('aria-label')).toBe('Nightly export')

    await vi.waitFor(() => expect(bar.getAttribute('aria-valuenow')).toBe('10'))
    expect(el.getAttribute('status')).toBe('active')
    expect(part(el, 'status').textContent).toBe('10% · Exported 100 rows')
    expect(part(el, 'bar').style.width).toBe('10%')

    await publisher.progress(id, 70)
    await vi.waitFor(() => expect(el.getAttribute('progress')).toBe('70'))
    await publisher.complete(id, { downloadUrl: '/files/x.csv' })
    await vi.waitFor(() => expect(el.getAttribute('status')).toBe('completed'))
    expect(bar.getAttribute('aria-valuenow')).toBe('100')
    const link = part(el, 'result') as HTMLAnchorElement
    expect(link.hidden).toBe(false)
    expect(link.getAttribute('href')).toBe('/files/x.csv')
    expect(part(el, 'error').hidden).toBe(true)
    expect(el.state?.status).toBe('completed')

    const mine = seen.filter((e) => e.detail.job?.id === id)
    expect(mine.map((e) => `${e.type}:${e.detail.job?.progress}`)).toEqual([
      'jobcast:progress:10',
      'jobcast:progress:70',
      'jobcast:progress:100',
      'jobcast:completed:100',
    ])
    expect(mine.every((e) => e.bubbles && e.composed && e.detail.transport === 'websocket')).toBe(true)
    el.remove()
  })

  it('links only http(s) results: a javascript: URL in the result is not rendered', async () => {
    const seen: string[] = []
    for (const downloadUrl of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'https://cdn.example/x.csv']) {
      const id = jobId('url')
      const el = mount({ job: id, src: gw.url })
      await publisher.complete(id, { downloadUrl })
      await vi.waitFor(() => expect(el.getAttribute('status')).toBe('completed'))
      const link = part(el, 'result') as HTMLAnchorElement
      if (!link.hidden) seen.push(link.getAttribute('href')!)
      el.remove()
    }
    expect(seen).toEqual(['https://cdn.example/x.csv'])
  })

  it('shows the error of a failed job and emits jobcast:failed', async () => {
    const id = jobId('fail')
    const el = mount({ job: id, src: gw.url })
    const seen = record(el)
    expect(part(el, 'track').getAttribute('aria-label')).toBe(`Job ${id} progress`)
    await publisher.active(id, { progress: 50 })
    await vi.waitFor(() => expect(el.getAttribute('progress')).toBe('50'))
    await publisher.fail(id, { message: 'Disk full', code: 'disk_full' })
    await vi.waitFor(() => expect(el.getAttribute('status')).toBe('failed'))
    const error = part(el, 'error')
    expect(error.hidden).toBe(false)
    expect(error.getAttribute('role')).toBe('alert')
    expect(error.textContent).toBe('Disk full')
    expect(part(el, 'result').hidden).toBe(true)
    expect(part(el, 'track').getAttribute('aria-valuenow')).toBe('50') // kept where the job stopped
    // Whether `active` arrives depends on when the socket subscribes; the end is always the same.
    expect(seen.map((e) => e.type).slice(-2)).toEqual(['jobcast:progress', 'jobcast:failed'])
    expect(seen.filter((e) => e.type !== 'jobcast:progress')).toHaveLength(1)
    expect(seen.at(-1)?.detail.job?.error).toEqual({ message: 'Disk full', code: 'disk_full' })
    el.remove()
  })

  it('switches jobs when the attribute changes, and stops listening once removed', async () => {
    const a = jobId('a')
    const b = jobId('b')
    await publisher.active(a, { progress: 30 })
    await publisher.active(b, { progress: 60 })
    const el = mount({ job: a, src: gw.url })
    await vi.waitFor(() => expect(el.getAttribute('progress')).toBe('30'))
    el.setAttribute('job', b)
    await vi.waitFor(() => expect(el.getAttribute('progress')).toBe('60'))
    expect(el.state?.id).toBe(b)
    await publisher.progress(a, 90) // the old job no longer reaches the element
    await publisher.progress(b, 65)
    await vi.waitFor(() => expect(el.getAttribute('progress')).toBe('65'))

    el.remove()
    await publisher.progress(b, 80)
    await new Promise((r) => setTimeout(r, 100))
    expect(el.getAttribute('progress')).toBe('65')
  })

  it('shares one client (one socket) between elements and closes it after the last leaves', async () => {
    await new Promise((r) => setTimeout(r, RELEASE_DELAY_MS + 100)) // earlier tests' client closed
    expect(sharedClientCount()).toBe(0)
    const before = constructed
    const ids = [jobId('s'), jobId('s'), jobId('s')]
    for (const id of ids) await publisher.active(id, { progress: 5 })
    const els = ids.map((id) => mount({ job: id, src: `${gw.url}/` }))
    await vi.waitFor(() => expect(els.every((el) => el.getAttribute('progress') === '5')).toBe(true))
    expect(constructed - before).toBe(1)
    expect(sharedClientCount()).toBe(1)

    // Moving an element (disconnect + connect in one task) keeps the client.
    document.body.append(els[0]!)
    for (const el of els) el.remove()
    expect(sharedClientCount()).toBe(1)
    await vi.waitFor(() => expect(sharedClientCount()).toBe(0), { timeout: RELEASE_DELAY_MS + 1000 })
  })

  it('uses a client given as a property and does not close it', async () => {
    const { createClient } = await import('../src/index.js')
    const client = createClient({ url: gw.url, WebSocket: WebSocket as never })
    const id = jobId('own')
    await publisher.active(id, { progress: 42 })
    const el = document.createElement('jobcast-progress')
    el.client = client
    el.setAttribute('job', id)
    document.body.append(el)
    await vi.waitFor(() => expect(el.getAttribute('progress')).toBe('42'))
    expect(sharedClientCount()).toBe(0)
    el.remove()
    const again = await client.waitForJob(id, { timeout: 300 }).catch((e: Error) => e)
    // Still usable after the element left: it times out waiting (the job is not finished), it is not closed.
    expect((again as Error).name).toBe('JobTimeoutError')
    await client.close()
  })
})
