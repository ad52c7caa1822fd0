/** Graceful shutdown: WebSockets get 1012, SSE streams end, close() resolves within its bound; the CLI exits on SIGTERM. */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { openSse, openWs } from './support/clients.js'
import { startGateway } from './support/gateway.js'

it('closes WebSockets with 1012, ends SSE streams and resolves close() in time, idempotently', async () => {
  const gw = await startGateway({ shutdownTimeoutMs: 1_000 })
  const ws = await openWs(gw.wsUrl)
  ws.send({ type: 'subscribe', id: 'job-1' })
  await ws.frames.until(() => ws.frames.items.find((f) => f.type === 'subscribed'))
  const sse = await openSse(`${gw.url}/v1/jobs/job-1/events`)
  const multi = await openSse(`${gw.url}/v1/events?id=job-1&id=job-2`)
  await sse.items.until(() => sse.items.items.find((i) => i.kind === 'event'))
  const started = Date.now()
  const first = gw.close()
  expect(gw.close()).toBe(first)
  await first
  expect(Date.now() - started).toBeLessThan(1_500)
  expect((await ws.closed).code).toBe(1012)
  await Promise.all([sse.ended, multi.ended])
  expect(gw.gateway.hub.watchedJobs).toBe(0)
  await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow()
})

it('bounds close() even when a peer never completes the closing handshake', async () => {
  const gw = await startGateway({ shutdownTimeoutMs: 300 })
  const ws = await openWs(gw.wsUrl)
  // A paused peer never reads the close frame nor answers it.
  ;(ws.socket as unknown as { _socket: { pause(): void } })._socket.pause()
  const started = Date.now()
  await gw.close()
  expect(Date.now() - started).toBeLessThan(1_000)
})

const cli = fileURLToPath(new URL('../packages/gateway/dist/cli.js', import.meta.url))

it('the built CLI serves the demo and exits 0 on SIGTERM, ending its streams', async () => {
  expect(existsSync(cli), '[jobcast] packages/gateway/dist/cli.js is missing: run npm run build (npm test does)').toBe(true)
  const child = spawn(process.execPath, [cli, '--demo', '--port', '0', '--shutdown-timeout', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  child.stderr.on('data', (chunk) => (out += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    const deadline = Date.now() + 10_000
    // The banner ends with the open-mode warning (demo mode is always open).
    while (!/WARNING: open mode[\s\S]*\*{78}/i.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
    expect(url, out).toBeDefined()
    expect(out).toMatch(/WARNING: open mode/i)
    expect(out).toMatch(/embedded/)
    const created = await fetch(`${url}/demo/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"slow"}' })
    expect(created.status).toBe(202)
    const { id } = (await created.json()) as { id: string }
    const sse = await openSse(`${url}/v1/jobs/${id}/events`)
    await sse.items.until(() => (sse.jobs().length > 0 ? true : undefined))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    await sse.ended
  } finally {
    child.kill('SIGKILL')
  }
})
