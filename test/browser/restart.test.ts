/**
 * The demo page following a job while the gateway restarts, then while Redis restarts (issue 5,
 * case 4): it still ends on the terminal state, and no progress step arrives twice.
 * A worker-like publisher drives the job from outside the gateway, as in production.
 */
import { openAuthorizer } from '../../packages/gateway/src/auth/authorizer.js'
import { createGateway, type Gateway } from '../../packages/gateway/src/create-gateway.js'
import { createDemo, type Demo } from '../../packages/gateway/src/demo/demo-routes.js'
import { createPublisher, type Publisher } from '../../packages/gateway/src/publisher.js'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'
import { assertOrderedOnce, cardOf, demoEvents, progressSteps, waitTerminal } from './demo-page.js'

let redis: TestRedis
let browser: Browser
let publisher: Publisher
let gateway: Gateway | undefined
let port = 0
const prefix = randomPrefix()
const demos: Demo[] = []

async function startGatewayOnPort(): Promise<string> {
  const demo = createDemo()
  demos.push(demo)
  gateway = createGateway({ authorizer: openAuthorizer, warnOpenMode: false, redisUrl: redis.url, prefix, shutdownTimeoutMs: 2000, extraRoutes: demo.routes })
  const listening = await gateway.listen(port, '127.0.0.1')
  port = listening.port
  return listening.url
}

/** Publish, retrying while Redis is away (a worker would do the same). */
async function publishing(step: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      await step()
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until the page shows at least `progress` for the job. */
async function pageReached(page: Page, progress: number): Promise<void> {
  await page.waitForFunction((p) => Number(document.querySelector('[data-testid="job"]')?.getAttribute('data-progress')) >= p, progress, { timeout: 15_000 })
}

beforeAll(async () => {
  // Chromium first: when it is missing the suite fails before a redis-server it could not stop is started.
  browser = await launchChromium()
  redis = await startRedis()
  publisher = createPublisher({ url: redis.url, prefix })
  await startGatewayOnPort()
})

afterAll(async () => {
  for (const d of demos) d.stop()
  await browser?.close()
  await gateway?.close()
  await publisher?.close()
  await redis?.stop()
})

/** Starts job `id`, opens the demo page following it, and publishes up to 30 % as the page watches. */
async function followJobTo30(id: string): Promise<Page> {
  await publisher.active(id, { progress: 0, message: 'Started' })
  const page = await browser.newPage()
  await page.goto(`http://127.0.0.1:${port}/?job=${id}`)
  for (const p of [10, 20, 30]) {
    await publisher.progress(id, p, { message: `step ${p}` })
    await sleep(150)
  }
  await pageReached(page, 30)
  return page
}

describe('the demo page across restarts', () => {
  it('ends completed, without duplicates, when the gateway restarts mid-job', async () => {
    const id = `restart-gw-${Date.now()}`
    const page = await followJobTo30(id)

    await gateway!.close() // graceful: WebSockets closed with 1012
    await publisher.progress(id, 40, { message: 'published while the gateway was down' })
    await startGatewayOnPort()
    // The page reconnects on its own and catches up from the snapshot…
    await pageReached(page, 40)
    // …then receives live events again.
    for (const p of [50, 60]) {
      await publisher.progress(id, p, { message: `step ${p}` })
      await sleep(150)
    }
    await publisher.complete(id, { downloadUrl: `/files/${id}.csv` })

    await waitTerminal(page, 'export', 20_000)
    const events = await demoEvents(page, id)
    console.log(`[jobcast] gateway restart: ${events.at(-1)?.status} via ${events.at(-1)?.transport}; progress ${progressSteps(events).join(' → ')}`)
    expect(events.at(-1)?.status).toBe('completed')
    expect(progressSteps(events)).toEqual(expect.arrayContaining([30, 40, 50, 60, 100]))
    expect(await cardOf(page, 'export').getByTestId('result-link').getAttribute('href')).toBe(`/files/${id}.csv`)
    assertOrderedOnce(events)
    await page.close()
  }, 40_000)

  it('ends completed, without duplicates, when Redis restarts mid-job (snapshots lost)', async () => {
    const id = `restart-redis-${Date.now()}`
    const page = await followJobTo30(id)

    await redis.restart() // a fresh, empty Redis: every snapshot and seq is gone
    for (const p of [40, 50]) {
      await publishing(() => publisher.progress(id, p, { message: `step ${p}` }))
      await sleep(300)
    }
    await publishing(() => publisher.complete(id, { downloadUrl: `/files/${id}.csv` }))

    await waitTerminal(page, 'export', 20_000)
    const events = await demoEvents(page, id)
    console.log(`[jobcast] redis restart: ${events.at(-1)?.status} via ${events.at(-1)?.transport}; progress ${progressSteps(events).join(' → ')}`)
    expect(events.at(-1)?.status).toBe('completed')
    expect(progressSteps(events)).toEqual(expect.arrayContaining([30, 50, 100]))
    assertOrderedOnce(events)
    await page.close()
  }, 40_000)
})
