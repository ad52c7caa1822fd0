/**
 * The drop-in pieces in a real Chromium page (issue 5, case 5): `<jobcast-progress>` renders an
 * accessible bar that follows the job, themes through `::part` and custom properties, emits its
 * events and frees its socket when removed; the React example's `useJob` updates under
 * StrictMode with one socket; the plain-HTML example completes with the IIFE bundle.
 */
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublisher, type Publisher } from '../../packages/gateway/src/publisher.js'
import { startHtmlExample } from '../../examples/html-iife/serve.mjs'
import { startReactExample } from '../../examples/react/serve.mjs'
import { launchChromium } from '../support/chromium.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'

const ELEMENT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>element</title>
<style>
  jobcast-progress { --jobcast-height: 12px; margin: 8px; }
  jobcast-progress::part(bar) { background: rgb(200, 0, 100); }
</style></head><body>
<jobcast-progress id="ok" label="Nightly export"></jobcast-progress>
<jobcast-progress id="bad"></jobcast-progress>
<script type="module" src="/element.js"></script>
<script type="module" src="/element.js?again"></script>
</body></html>`

let redis: TestRedis
let gw: TestGateway
let browser: Browser
let publisher: Publisher

beforeAll(async () => {
  const prefix = randomPrefix()
  const bundle = build({
    entryPoints: [fileURLToPath(new URL('../../packages/client/src/element/index.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  })
  // Chromium first: when it is missing the suite fails before a redis-server it could not stop is started.
  browser = await launchChromium()
  redis = await startRedis()
  const script = (await bundle).outputFiles[0]!.text
  gw = await startGateway({
    bus: { redisUrl: redis.url, prefix },
    extraRoutes(app) {
      app.get('/element.html', (c) => c.html(ELEMENT_PAGE))
      app.get('/element.js', (c) => c.body(script, 200, { 'content-type': 'text/javascript' }))
    },
  })
  publisher = createPublisher({ url: redis.url, prefix })
  await mkdir('test-results', { recursive: true })
})

afterAll(async () => {
  await browser?.close()
  await publisher?.close()
  await gw?.close()
  await redis?.stop()
})

function recordEvents(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { seen: string[] }
    w.seen = []
    for (const type of ['jobcast:progress', 'jobcast:completed', 'jobcast:failed']) {
      // Listening on document proves the events bubble out of the element (and its shadow root).
      document.addEventListener(type, (e) => {
        const d = (e as CustomEvent).detail
        w.seen.push(`${(e.target as HTMLElement).id} ${type} ${d.job?.status ?? d.error?.name} ${d.job?.progress ?? ''}`.trim())
      })
    }
  })
}

const seenEvents = (page: Page) => page.evaluate(() => (window as unknown as { seen: string[] }).seen)

describe('<jobcast-progress> in Chromium', () => {
  it('renders an accessible bar that follows the job, is themable, emits events and cleans up', async () => {
    const page = await browser.newPage()
    const sockets: { url: string; closed: boolean }[] = []
    page.on('websocket', (ws) => {
      const s = { url: ws.url(), closed: false }
      sockets.push(s)
      ws.on('close', () => (s.closed = true))
    })
    await page.goto(`${gw.url}/element.html`)
    await page.waitForFunction(() => customElements.get('jobcast-progress') !== undefined)
    await recordEvents(page)
    const ok = `el-ok-${Date.now()}`
    const bad = `el-bad-${Date.now()}`
    await publisher.active(ok, { progress: 0, message: 'Started' })
    await publisher.active(bad, { progress: 0 })
    await page.evaluate(([a, b]) => {
      document.getElementById('ok')!.setAttribute('job', a!)
      document.getElementById('bad')!.setAttribute('job', b!)
    }, [ok, bad])

    const bar = page.getByRole('progressbar', { name: 'Nightly export' })
    await expect.poll(() => page.locator('#ok').getAttribute('status')).toBe('active')
    await publisher.progress(ok, 40, { message: 'Exported 400 of 1000 rows' })
    await expect.poll(() => bar.getAttribute('aria-valuenow')).toBe('40')
    expect(await bar.getAttribute('aria-valuemin')).toBe('0')
    expect(await bar.getAttribute('aria-valuemax')).toBe('100')
    expect(await bar.getAttribute('aria-valuetext')).toBe('40% Exported 400 of 1000 rows')
    expect(await page.locator('#ok').getAttribute('status')).toBe('active')
    expect(await page.locator('#ok [part="status"]').textContent()).toBe('40% · Exported 400 of 1000 rows')
    // Themed from outside: ::part() and a custom property reach into the shadow root.
    const style = await page.locator('#ok [part="bar"]').evaluate((el) => ({
      background: getComputedStyle(el).backgroundColor,
      width: el.style.width,
      height: getComputedStyle(el.parentElement!).height,
    }))
    expect(style).toEqual({ background: 'rgb(200, 0, 100)', width: '40%', height: '12px' })
    // The default accessible name when no label is given.
    expect(await page.getByRole('progressbar', { name: `Job ${bad} progress` }).count()).toBe(1)

    await publisher.complete(ok, { downloadUrl: `/files/${ok}.csv` })
    await publisher.fail(bad, { message: 'Disk full', code: 'disk_full' })
    await expect.poll(() => page.locator('#ok').getAttribute('status')).toBe('completed')
    await expect.poll(() => page.locator('#bad').getAttribute('status')).toBe('failed')
    expect(await bar.getAttribute('aria-valuenow')).toBe('100')
    const link = page.locator('#ok [part="result"]')
    expect(await link.isVisible()).toBe(true)
    expect(await link.getAttribute('href')).toBe(`/files/${ok}.csv`)
    const alert = page.locator('#bad').getByRole('alert')
    expect(await alert.textContent()).toBe('Disk full')
    expect(await alert.isVisible()).toBe(true)

    await page.screenshot({ path: 'test-results/element.png' })
    const events = await seenEvents(page)
    expect(events.filter((e) => e.startsWith('ok '))).toEqual([
      'ok jobcast:progress active 0',
      'ok jobcast:progress active 40',
      'ok jobcast:progress completed 100',
      'ok jobcast:completed completed 100',
    ])
    expect(events.filter((e) => e.startsWith('bad ')).slice(-2)).toEqual(['bad jobcast:progress failed', 'bad jobcast:failed failed'])

    // Two elements, imported twice: one definition, one shared socket.
    expect(sockets.filter((s) => s.url.endsWith('/v1/ws'))).toHaveLength(1)
    // Removed from the page → the shared client is released and its socket closes.
    await page.evaluate(() => document.querySelectorAll('jobcast-progress').forEach((el) => el.remove()))
    await expect.poll(() => sockets[0]?.closed, { timeout: 10_000 }).toBe(true)
    await page.close()
  })
})

describe('examples in Chromium', () => {
  it('React: useJob renders progress and completion under StrictMode with one socket', async () => {
    const example = await startReactExample({ port: 0, stepMs: 100 })
    const page = await browser.newPage()
    try {
      const sockets: string[] = []
      page.on('websocket', (ws) => sockets.push(ws.url()))
      await page.goto(example.url)
      await page.getByTestId('react-start').click()
      const card = page.getByTestId('react-card')
      await expect.poll(async () => Number(await page.getByRole('progressbar').getAttribute('aria-valuenow'))).toBeGreaterThan(0)
      await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('completed')
      expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100')
      expect(await page.getByTestId('react-download').getAttribute('href')).toMatch(/^\/downloads\/react-export-.+\.csv$/)
      expect(await card.getAttribute('data-transport')).toBe('websocket')
      expect(sockets).toHaveLength(1)
    } finally {
      await page.close()
      await example.close()
    }
  })

  it('plain HTML: the IIFE bundle drives a <progress> to completion', async () => {
    const example = await startHtmlExample({ port: 0, stepMs: 100 })
    const page = await browser.newPage()
    try {
      await page.goto(example.url)
      await page.click('#start')
      await page.waitForFunction(() => document.body.dataset.status, undefined, { timeout: 10_000 })
      expect(await page.evaluate(() => document.body.dataset.status)).toBe('completed')
      expect(await page.locator('#bar').evaluate((el) => (el as HTMLProgressElement).value)).toBe(100)
      expect(await page.locator('#download').isVisible()).toBe(true)
      expect(await page.evaluate(() => document.body.dataset.transport)).toBe('websocket')
    } finally {
      await page.close()
      await example.close()
    }
  })
})
