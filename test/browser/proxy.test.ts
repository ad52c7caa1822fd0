/**
 * The demo page behind a real nginx (issue 5, case 3): with WebSocket upgrades refused the page
 * completes over SSE; with SSE also held back by the proxy it completes by polling within the
 * detection window. Records the transport and the time to the terminal state of each case in
 * test-results/browser-proxy.json.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemo, type Demo } from '../../packages/gateway/src/demo/demo-routes.js'
import { launchChromium } from '../support/chromium.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { startNginx, type NginxMode } from '../support/nginx.js'
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js'
import { assertOrderedOnce, demoEvents, progressSteps, startedAt, waitTerminal } from './demo-page.js'

/** The client's default `connectTimeout`: how long SSE may stay silent before polling takes over. */
const DETECTION_WINDOW_MS = 5000

interface ProxyCase {
  mode: NginxMode
  expected: 'websocket' | 'sse' | 'polling'
  kind: 'export' | 'slow'
}

const CASES: ProxyCase[] = [
  { mode: 'pass', expected: 'websocket', kind: 'export' },
  { mode: 'no-websocket', expected: 'sse', kind: 'export' },
  // A longer job, so polling has steps left to show once the SSE silence is detected.
  { mode: 'buffer-sse', expected: 'polling', kind: 'slow' },
]

interface Outcome {
  mode: NginxMode
  transport: string | undefined
  transportsSeen: string[]
  status: string
  /** Click → first update shown (the job's `queued` event comes at once when nothing is in the way). */
  timeToFirstUpdateMs: number
  timeToTerminalMs: number
  jobDurationMs: number
  progress: number[]
}

let redis: TestRedis
let demo: Demo
let gw: TestGateway
let browser: Browser
const outcomes: Outcome[] = []
const TIMING = { exportMs: 3000, slowMs: 9000 }

beforeAll(async () => {
  // Chromium first: when it is missing the suite fails before a redis-server it could not stop is started.
  browser = await launchChromium()
  redis = await startRedis()
  demo = createDemo({ timing: TIMING })
  gw = await startGateway({ bus: { redisUrl: redis.url, prefix: randomPrefix() }, extraRoutes: demo.routes })
})

afterAll(async () => {
  if (outcomes.length) {
    await mkdir('test-results', { recursive: true })
    await writeFile('test-results/browser-proxy.json', JSON.stringify({ at: new Date().toISOString(), cases: outcomes }, null, 2) + '\n')
  }
  demo?.stop()
  await browser?.close()
  await gw?.close()
  await redis?.stop()
})

describe('the demo page through nginx', () => {
  for (const c of CASES) {
    it(`${c.mode}: completes over ${c.expected}`, async () => {
      const nginx = await startNginx({ upstream: gw.url, mode: c.mode })
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        await page.goto(nginx.url)
        await page.getByTestId(`start-${c.kind}`).click()
        const id = await waitTerminal(page, c.kind, 30_000)
        const events = await demoEvents(page, id)
        const last = events.at(-1)
        const started = await startedAt(page, id)
        const outcome: Outcome = {
          mode: c.mode,
          transport: last?.transport,
          transportsSeen: [...new Set(events.map((e) => e.transport ?? '?'))],
          status: last?.status ?? 'none',
          timeToFirstUpdateMs: (events[0]?.at ?? Number.NaN) - started,
          timeToTerminalMs: (last?.at ?? Number.NaN) - started,
          jobDurationMs: c.kind === 'slow' ? TIMING.slowMs : TIMING.exportMs,
          progress: progressSteps(events),
        }
        outcomes.push(outcome)
        console.log(
          `[jobcast] proxy ${c.mode}: transport ${outcome.transport} (seen ${outcome.transportsSeen.join(', ')}), ` +
            `first update after ${outcome.timeToFirstUpdateMs} ms, ${outcome.status} after ${outcome.timeToTerminalMs} ms ` +
            `(job runs ${outcome.jobDurationMs} ms); progress ${outcome.progress.join(' → ')}`,
        )
        expect(outcome.status).toBe('completed')
        expect(outcome.transport).toBe(c.expected)
        assertOrderedOnce(events)
        // Falling back costs at most the detection window (plus a poll interval) over the job's own duration.
        expect(outcome.timeToTerminalMs).toBeLessThan(outcome.jobDurationMs + DETECTION_WINDOW_MS + 4000)
        if (c.mode === 'buffer-sse') {
          // Polling took over while the job still ran: it delivered more than the final state.
          expect(events.filter((e) => e.transport === 'polling').length).toBeGreaterThan(1)
        }
      } finally {
        await context.close()
        await nginx.stop()
      }
    }, 40_000)
  }
})
