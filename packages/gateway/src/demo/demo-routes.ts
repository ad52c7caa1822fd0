/**
 * Demo mode routes: `POST /demo/jobs` starts a simulated job, `GET /demo/files/:id.csv`
 * serves an export's result, and `/` serves the demo page (packages/gateway/demo/) with the
 * client's IIFE bundle at `/jobcast.js`. Never enabled outside `--demo`.
 */
import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hono } from 'hono'
import type { GatewayContext } from '../create-gateway.js'
import { createPublisher } from '../publisher.js'
import { errorResponse } from '../http-error.js'
import { DEFAULT_DEMO_TIMING, DEMO_JOB_KINDS, demoCsv, runDemoJob, type DemoJobKind, type DemoTiming } from './simulated-jobs.js'
import { FALLBACK_PAGE } from './fallback-page.js'

/** Options of {@link createDemo}. */
export interface DemoOptions {
  /** Job durations. @default { exportMs: 6000, slowMs: 30000 } */
  timing?: Partial<DemoTiming>
  /** Folder of the demo page. @default packages/gateway/demo */
  pageDir?: string
}

/** Demo routes plus the handle that stops running jobs. */
export interface Demo {
  /** Pass as `extraRoutes` to createGateway. */
  routes: (app: Hono, context: GatewayContext) => void
  /** Abort every running simulated job (call before closing the gateway). */
  stop(): void
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

const here = dirname(fileURLToPath(import.meta.url))

/** packages/gateway/demo, from both src/demo and dist/demo. */
const DEFAULT_PAGE_DIR = join(here, '..', '..', 'demo')

/** A file of the installed client package's dist/ (resolved like any dependency). */
function clientFile(name: string): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@jobcast/client/package.json')
    return join(dirname(pkg), 'dist', name)
  } catch {
    return undefined
  }
}

async function serveFile(path: string | undefined): Promise<Response | undefined> {
  if (!path) return undefined
  try {
    const body = await readFile(path)
    return new Response(body, { headers: { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' } })
  } catch {
    return undefined
  }
}

/** Build the demo routes. */
export function createDemo(options: DemoOptions = {}): Demo {
  const timing: DemoTiming = { ...DEFAULT_DEMO_TIMING, ...options.timing }
  const pageDir = normalize(options.pageDir ?? DEFAULT_PAGE_DIR)
  const stopper = new AbortController()
  // Every running demo job listens on this one signal.
  setMaxListeners(0, stopper.signal)

  const routes = (app: Hono, context: GatewayContext): void => {
    const publisher = createPublisher({ bus: context.bus })

    app.post('/demo/jobs', async (c) => {
      let kind: unknown
      try {
        kind = ((await c.req.json()) as { kind?: unknown } | null)?.kind
      } catch {
        kind = undefined
      }
      if (typeof kind !== 'string' || !DEMO_JOB_KINDS.includes(kind as DemoJobKind)) {
        return errorResponse(400, 'invalid_event', `send {"kind": ${DEMO_JOB_KINDS.map((k) => `"${k}"`).join(' | ')}}`)
      }
      const id = `${kind}-${randomBytes(5).toString('hex')}`
      const fileUrl = new URL(`/demo/files/${id}.csv`, c.req.url).pathname
      void runDemoJob(publisher, id, kind as DemoJobKind, fileUrl, timing, stopper.signal).catch((error: unknown) => {
        if (!stopper.signal.aborted) console.error(`[jobcast] demo job ${id} stopped:`, error)
      })
      return c.json({ id }, 202)
    })

    app.get('/demo/files/:file', async (c) => {
      const match = /^(.+)\.csv$/.exec(c.req.param('file'))
      const snapshot = match?.[1] ? await context.hub.get(match[1]).catch(() => null) : null
      if (!match?.[1] || snapshot?.event.status !== 'completed') {
        return errorResponse(404, 'not_found', 'no finished demo export with that id: start one with POST /demo/jobs')
      }
      return new Response(demoCsv(match[1]), {
        headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${match[1]}.csv"` },
      })
    })

    app.get('/jobcast.js', async () => {
      return (await serveFile(clientFile('jobcast.iife.js'))) ?? errorResponse(404, 'not_found', 'the client bundle is not built: run npm run build')
    })

    // The drop-in element, when the client ships it as one self-contained browser module.
    app.get('/jobcast-element.js', async () => {
      return (await serveFile(clientFile('jobcast-element.js'))) ?? errorResponse(404, 'not_found', 'no self-contained element bundle (dist/jobcast-element.js) in @jobcast/client')
    })

    app.get('/', async () => (await serveFile(join(pageDir, 'index.html'))) ?? new Response(FALLBACK_PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }))

    // Other files of the demo folder (style.css, app.js…); the path must stay inside it.
    app.get('/:file{[A-Za-z0-9._-]+\\.(?:js|mjs|css|svg|png|ico|json|map|html)}', async (c, next) => {
      const path = normalize(join(pageDir, c.req.param('file')))
      if (!path.startsWith(pageDir + sep)) return next()
      return (await serveFile(path)) ?? next()
    })
  }

  return { routes, stop: () => stopper.abort() }
}
