/** Demo mode routes with shortened job timings. */
import { afterEach, expect, it } from 'vitest'
import { openAuthorizer } from '../src/auth/authorizer.js'
import { createGateway, type Gateway } from '../src/create-gateway.js'
import { createDemo, type Demo } from '../src/demo/demo-routes.js'

let gateway: Gateway | undefined
let demo: Demo | undefined
afterEach(async () => {
  demo?.stop()
  await gateway?.close()
})

function setup(pageDir?: string) {
  demo = createDemo({ timing: { exportMs: 120, slowMs: 200 }, pageDir })
  gateway = createGateway({ authorizer: openAuthorizer, warnOpenMode: false, extraRoutes: demo.routes })
  return gateway.app
}

async function start(app: Gateway['app'], kind: string): Promise<string> {
  const response = await app.request('/demo/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind }) })
  expect(response.status).toBe(202)
  const { id } = (await response.json()) as { id: string }
  expect(id).toMatch(new RegExp(`^${kind}-[0-9a-f]{10}$`))
  return id
}

async function finalState(app: Gateway['app'], id: string) {
  const text = await (await app.request(`/v1/jobs/${id}/events`)).text()
  return [...text.matchAll(/^data: (\{"seq".*)$/gm)].map((m) => JSON.parse(m[1] as string) as { status: string; progress?: number; result?: { downloadUrl: string }; error?: { message: string } })
}

it('runs an export to completion with a download link that serves a CSV', async () => {
  const app = setup()
  const id = await start(app, 'export')
  const events = await finalState(app, id)
  const last = events.at(-1)
  expect(last?.status).toBe('completed')
  expect(last?.progress).toBe(100)
  const progress = events.map((e) => e.progress ?? 0)
  expect([...progress].sort((a, b) => a - b)).toEqual(progress)
  const csv = await app.request(last!.result!.downloadUrl)
  expect(csv.status).toBe(200)
  expect(csv.headers.get('content-type')).toMatch(/text\/csv/)
  expect((await csv.text()).split('\n')[0]).toBe('row,job,value')
})

it('runs a failing job to a failed event with an error', async () => {
  const app = setup()
  const id = await start(app, 'fail')
  const last = (await finalState(app, id)).at(-1)
  expect(last?.status).toBe('failed')
  expect(last?.error?.message).toMatch(/simulated failure/)
  expect((await app.request(`/demo/files/${id}.csv`)).status).toBe(404)
})

it('rejects an unknown kind with 400', async () => {
  const app = setup()
  for (const body of ['{"kind":"mine"}', 'not json', '{}']) {
    const response = await app.request('/demo/jobs', { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_event' } })
  }
})

it('serves the demo page, or an inline page explaining curl when the folder is missing', async () => {
  const real = setup()
  const page = await real.request('/')
  expect(page.headers.get('content-type')).toMatch(/text\/html/)
  expect(await page.text()).toContain('<html')
  demo?.stop()
  await gateway?.close()
  const fallback = setup('/nonexistent-jobcast-demo')
  expect(await (await fallback.request('/')).text()).toContain('curl -N')
  expect((await fallback.request('/..%2Fpackage.json')).status).toBe(404)
  expect((await fallback.request('/style.css')).status).toBe(404)
})
