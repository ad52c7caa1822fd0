/**
 * The demo page in Chromium, against a real gateway on a real Redis (issue 5, cases 1, 2, 6):
 * Export CSV reaches 100 % with a download link, the failing job shows its error, WebSocket
 * is the transport when nothing is in the way, and a mid-progress screenshot is saved.
 */
import { mkdir } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemo, type Demo } from '../../packages/gateway/src/demo/demo-routes.js'
import { launchChromium } from '../support/chromium.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'
import { cardOf, demoEvents, progressSteps } from './demo-page.js'

let redis: TestRedis
let demo: Demo
let gw: TestGateway
let browser: Browser
let page: Page
const consoleErrors: string[] = []

beforeAll(async () => {
  // Chromium first: when it is missing the suite fails before a redis-server it could not stop is started.
  browser = await launchChromium()
  redis = await startRedis()
  demo = createDemo({ timing: { exportMs: 2500, slowMs: 6000 } })
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix: randomPrefix() }, extraRoutes: demo.routes })
  page = await browser.newPage({ viewport: { width: 375, height: 720 } })
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
  await page.goto(gw.url)
})

afterAll(async () => {
  demo?.stop()
  await browser?.close()
  await gw?.close()
  await redis?.stop()
})

describe('demo page', () => {
  it('loads the client bundle from /jobcast.js (window.Jobcast)', async () => {
    expect(await page.evaluate(() => typeof (window as unknown as { Jobcast?: { createClient?: unknown } }).Jobcast?.createClient)).toBe('function')
    expect(await page.getByTestId('notice').isHidden()).toBe(true)
    // Not even a missing favicon: a reader debugging a proxy should see only real problems.
    expect(consoleErrors).toEqual([])
  })

  it('runs Export CSV to 100 % over WebSocket and shows the download link', async () => {
    const sockets: string[] = []
    page.on('websocket', (ws) => sockets.push(ws.url()))
    await page.getByTestId('start-export').click()
    const card = cardOf(page, 'export')
    await expect.poll(() => card.getAttribute('data-job-id')).toBeTruthy()
    const id = (await card.getAttribute('data-job-id')) as string

    // Mid-progress screenshot at phone width (artifact, not committed).
    await page.waitForFunction(
      (jobId) => {
        const p = Number(document.querySelector(`[data-job-id="${jobId}"]`)?.getAttribute('data-progress'))
        return p >= 20 && p < 100
      },
      id,
    )
    await mkdir('test-results', { recursive: true })
    await page.screenshot({ path: 'test-results/demo-mid-progress-375.png', fullPage: true })

    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('completed')
    await expect.poll(() => card.getByTestId('bar').getAttribute('aria-valuenow')).toBe('100')
    const link = card.getByTestId('result-link')
    expect(await link.isVisible()).toBe(true)
    expect(await link.getAttribute('href')).toBe(`/demo/files/${id}.csv`)
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), `/demo/files/${id}.csv`)
    expect(csv.split('\n')[0]).toContain(',')

    // Case 2: nothing in the way → WebSocket, one socket for the page.
    expect(await card.getAttribute('data-transport')).toBe('websocket')
    expect(await card.getByTestId('transport').textContent()).toBe('websocket')
    expect(sockets.filter((u) => u.endsWith('/v1/ws'))).toHaveLength(1)
    const events = await demoEvents(page, id)
    expect(events.every((e) => e.transport === 'websocket')).toBe(true)
    const seqs = events.map((e) => e.seq)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(progressSteps(events).at(-1)).toBe(100)

    // The drop-in element (/jobcast-element.js) mirrors the same export on the page.
    const element = page.getByTestId('element-slot').locator('jobcast-progress')
    expect(await page.getByTestId('element-demo').isVisible()).toBe(true)
    expect(await element.getAttribute('job')).toBe(id)
    await expect.poll(() => element.getAttribute('status')).toBe('completed')
    const elementBar = page.getByRole('progressbar', { name: 'Export CSV (element)' })
    expect(await elementBar.getAttribute('aria-valuenow')).toBe('100')
    expect(await element.locator('[part="result"]').getAttribute('href')).toBe(`/demo/files/${id}.csv`)
    console.log(`[jobcast] demo export over ${events[0]?.transport}: progress ${progressSteps(events).join(' → ')}`)
  })

  it('shows the failing job’s error', async () => {
    await page.getByTestId('start-fail').click()
    const card = cardOf(page, 'fail')
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('failed')
    const error = card.getByTestId('error')
    expect(await error.isVisible()).toBe(true)
    expect(await error.textContent()).toContain('simulated failure')
    expect(await card.getByTestId('result-link').isVisible()).toBe(false)
  })

  it('shows a slow job progressing and the connection state', async () => {
    await page.getByTestId('start-slow').click()
    const card = cardOf(page, 'slow')
    await expect.poll(async () => Number(await card.getAttribute('data-progress')), { timeout: 10_000 }).toBeGreaterThan(0)
    expect(await card.getAttribute('data-status')).toBe('active')
    expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('connected')
    expect(await page.getByTestId('connection').getAttribute('data-transport')).toBe('websocket')
    await page.setViewportSize({ width: 1024, height: 800 })
    await page.screenshot({ path: 'test-results/demo-desktop.png', fullPage: true })
  })
})
