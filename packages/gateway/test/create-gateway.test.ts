/** Library mode is secured by default: no authorizer, no gateway (issue 4, "Open mode"). */
import { connect } from 'node:net'
import WebSocket from 'ws'
import { afterEach, expect, it, vi } from 'vitest'
import * as root from '../src/index.js'
import { createGateway, type Gateway, type GatewayOptions } from '../src/create-gateway.js'

let gateway: Gateway | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await gateway?.close()
  gateway = undefined
})

it('refuses to build without an authorizer, saying what to pass', () => {
  for (const options of [undefined, {}, { authorizer: undefined }, { authorizer: {} }]) {
    let thrown: unknown
    try {
      createGateway(options as unknown as GatewayOptions)
    } catch (error) {
      thrown = error
    }
    expect(root.isJobcastError(thrown)).toBe(true)
    expect(thrown).toMatchObject({ code: 'invalid_config' })
    const message = (thrown as Error).message
    expect(message).toMatch(/^\[jobcast\] /)
    expect(message).toContain('authorizer: createJwtAuthorizer({ secret })')
    expect(message).toContain('authorizer: openAuthorizer')
  }
})

it('runs open only when openAuthorizer (exported from the root) is passed, and warns about it once', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  gateway = root.createGateway({ authorizer: root.openAuthorizer })
  await gateway.bus.publish({ id: 'a', status: 'active' })
  expect((await gateway.app.request('/v1/jobs/a')).status).toBe(200)
  const second = root.createGateway({ authorizer: root.openAuthorizer })
  await second.close()
  expect(warn).toHaveBeenCalledTimes(1)
  expect(String(warn.mock.calls[0]?.[0])).toMatch(/^\[jobcast\] WARNING: open mode/)
})

it('is secured with a JWT authorizer: no token → 401', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  gateway = root.createGateway({ authorizer: root.createJwtAuthorizer({ secret: 'x'.repeat(32) }) })
  await gateway.bus.publish({ id: 'a', status: 'active' })
  const response = await gateway.app.request('/v1/jobs/a')
  expect(response.status).toBe(401)
  expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } })
  expect(warn).not.toHaveBeenCalled()
})

function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.on('unexpected-response', (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)))
    ws.on('open', () => resolve(101))
    ws.on('error', () => undefined)
    opened.push(ws)
  })
}
const opened: WebSocket[] = []
afterEach(() => {
  for (const ws of opened.splice(0)) ws.terminate()
})

it('applies the CLI limits by default in library mode (origin allow-list, connections per IP); security: false turns them off', async () => {
  vi.spyOn(console, 'warn').mockImplementation(() => {})
  const authorizer = root.createJwtAuthorizer({ secret: 'x'.repeat(32) })
  gateway = root.createGateway({ authorizer, security: { maxConnectionsPerIp: 1 } })
  const { url } = await gateway.listen(0, '127.0.0.1')
  const wsUrl = `${url.replace(/^http/, 'ws')}/v1/ws`
  expect(await upgradeStatus(wsUrl, { origin: 'https://evil.example' })).toBe(403)
  expect(await upgradeStatus(wsUrl)).toBe(101)
  expect(await upgradeStatus(wsUrl)).toBe(429)
  await gateway.close()

  gateway = root.createGateway({ authorizer })
  const defaults = await gateway.listen(0, '127.0.0.1')
  expect(await upgradeStatus(`${defaults.url.replace(/^http/, 'ws')}/v1/ws`, { origin: 'https://evil.example' })).toBe(403)
  await gateway.close()

  gateway = root.createGateway({ authorizer, security: false })
  const off = await gateway.listen(0, '127.0.0.1')
  expect(await upgradeStatus(`${off.url.replace(/^http/, 'ws')}/v1/ws`, { origin: 'https://evil.example' })).toBe(101)
})

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text))
    let out = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (out += chunk))
    socket.on('close', () => resolve(out))
    socket.on('error', reject)
  })
}

it('answers requests the HTTP parser refuses with the JSON error body too', async () => {
  gateway = root.createGateway({ authorizer: root.openAuthorizer, warnOpenMode: false, security: false })
  const { port } = await gateway.listen(0, '127.0.0.1')
  const garbage = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n')
  expect(garbage).toMatch(/^HTTP\/1\.1 400 /)
  expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'bad_request', message: expect.stringMatching(/^\[jobcast\] /) } })
  const huge = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  expect(huge).toMatch(/^HTTP\/1\.1 431 /)
  expect(huge).toContain('"code":"bad_request"')
  // The gateway still serves.
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
})
