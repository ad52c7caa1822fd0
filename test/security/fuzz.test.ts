/**
 * Bounded fuzzing of every inbound surface of a real gateway: random and mutated
 * WebSocket frames (text, binary, huge, fragmented, invalid UTF-8, protocol violations
 * at the byte level) and hostile HTTP requests (paths, headers, Last-Event-ID, encodings).
 * Oracles: no request is ever answered with a 5xx, no error escapes as an unhandled
 * rejection (vitest fails the run on those), `/healthz` keeps answering, and a healthy
 * WebSocket and SSE subscriber receive every event of their job, in order.
 *
 * `npm test` runs a short pass; `npm run fuzz` a long one. Reproduce a failure with the
 * seed it prints: `JOBCAST_FUZZ_SEED=<seed> npx vitest run test/security/fuzz.test.ts`.
 */
import { connect } from 'node:net'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJwtAuthorizer } from '../../packages/gateway/src/auth/jwt-authorizer.js'
import { createSecurityHooks } from '../../packages/gateway/src/admission/security-hooks.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { openSse, openWs } from '../support/clients.js'
import { seededRandom } from '../support/seeded-random.mjs'
import { frame, rawUpgrade } from './raw-ws.js'
import { mint, SECRET } from './tokens.js'

const ITERATIONS = Number(process.env.JOBCAST_FUZZ_ITERATIONS ?? 1000)
/** Wall-clock budget of the short run, so it fits `npm test` on a busy 2-core machine. */
const BUDGET_MS = Number(process.env.JOBCAST_FUZZ_BUDGET_MS ?? (process.env.JOBCAST_FUZZ_ITERATIONS ? 3_600_000 : 8_000))
const SEED = Number(process.env.JOBCAST_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))

const rand = seededRandom(SEED)
const int = (n: number): number => Math.floor(rand() * n)
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)))

const HEALTHY = 'fuzz:healthy'
let gw: TestGateway
let validToken: string

beforeAll(async () => {
  // Generous limits: the fuzzer itself must not be stopped by them (they have their own tests).
  const hooks = createSecurityHooks({ corsOrigins: ['https://app.example.com'], maxConnectionsPerIp: 0, maxSsePerIp: 0, pollRatePerSec: 0 })
  gw = await startGateway({ authorizer: createJwtAuthorizer({ secret: SECRET }), maxFrameBytes: 16_384, security: hooks })
  validToken = await mint({ jobs: ['fuzz:*'] })
  console.log(`[jobcast] fuzz seed ${SEED}, ${ITERATIONS} iterations, budget ${BUDGET_MS} ms (replay: JOBCAST_FUZZ_SEED=${SEED})`)
})
afterAll(() => gw?.close())

// ---------- generators ----------

const TOKENS = (): (string | undefined)[] => [undefined, validToken, 'garbage', validToken.slice(0, -3), `${validToken}x`, 'a'.repeat(5000), '', '\u0000']
const IDS = ['fuzz:a', HEALTHY, 'fuzz:' + 'x'.repeat(123), 'x'.repeat(129), '', '../etc/passwd', '{x}', 'fuzz:a b', 'é', '*', 'fuzz:*', '\u0000', 'a'.repeat(10_000)]

function mutate(text: string): string {
  const chars = [...text]
  for (let k = 0, n = 1 + int(4); k < n; k++) {
    const at = int(chars.length + 1)
    const op = int(4)
    if (op === 0) chars.splice(at, 1)
    else if (op === 1) chars.splice(at, 0, String.fromCharCode(int(0x3000)))
    else if (op === 2) chars.splice(at, 0, pick(['{', '}', '"', '\\', ',', ':', '[', ']', 'null', '1e999', '-0', '\ud800']))
    else chars.splice(at, int(5))
  }
  return chars.join('')
}

function wsTextFrame(): string {
  const base = pick([
    () => ({ type: 'subscribe', id: pick(IDS), since: pick([0, -1, 1.5, 2 ** 60, '1', null, {}, 1e308]), token: pick(TOKENS()) }),
    () => ({ type: 'unsubscribe', id: pick(IDS) }),
    () => ({ type: 'ping' }),
    () => ({ type: pick(['SUBSCRIBE', '', 'job', 'error', '__proto__', 'constructor']), id: pick(IDS) }),
    () => ({ type: 'subscribe', id: { toString: 'x' }, __proto__: { admin: true } }),
    () => [1, 2, 3],
    () => 'x'.repeat(int(20_000)),
    () => JSON.parse('{"__proto__":{"polluted":1},"type":"subscribe","id":"fuzz:a"}') as unknown,
  ])()
  const text = typeof base === 'string' ? base : JSON.stringify(base)
  return rand() < 0.5 ? mutate(text) : text
}

/** A byte-level WebSocket attack: returns the frames to write after the handshake. */
function rawFrames(): Buffer[] {
  const subscribe = Buffer.from(JSON.stringify({ type: 'subscribe', id: 'fuzz:a', token: validToken }))
  const cut = 1 + int(subscribe.length - 2)
  return pick<() => Buffer[]>([
    () => [frame(1, subscribe.subarray(0, cut), { fin: false }), frame(0, subscribe.subarray(cut))], // fragmented, valid
    () => [frame(1, Buffer.from([0x7b, 0xc3]), { fin: false }), frame(0, Buffer.from([0x28, 0x7d]))], // invalid UTF-8 across fragments
    () => [frame(1, Buffer.from([0xff, 0xfe, 0xfd]))], // invalid UTF-8
    () => [frame(1, Buffer.from('{"type":"ping"}\ud800'))],
    () => [frame(2, bytes(int(2000)))], // binary
    () => [frame(1, bytes(20), { lieLength: 2 ** 40 })], // absurd length
    () => [frame(1, 'x'.repeat(70_000))], // over maxFrameBytes
    () => [frame(1, subscribe, { mask: false })], // unmasked client frame
    () => [frame(pick([3, 4, 5, 6, 7, 11, 12, 15]), bytes(10))], // reserved opcodes
    () => [frame(1, subscribe, { rsv: 1 + int(7) })], // RSV bits without an extension
    () => [frame(9, bytes(200))], // control frame over 125 bytes
    () => [frame(9, bytes(10), { fin: false })], // fragmented control frame
    () => [frame(0, subscribe)], // continuation without a start
    () => [frame(1, 'a', { fin: false }), frame(1, 'b')], // new message inside a fragmented one
    () => [frame(8, Buffer.from([0x03, 0xe7]))], // close with invalid code 999
    () => [frame(8, Buffer.from([0x03]))], // close with 1-byte body
    () => Array.from({ length: 50 }, () => frame(9, bytes(4))), // ping flood
    () => Array.from({ length: 1 + int(40) }, () => frame(1, 'x', { fin: false })), // endless fragments
    () => [bytes(1 + int(300))], // pure noise
  ])()
}

/** A hostile HTTP request as raw bytes (fetch refuses to send most of these). */
function rawHttpRequest(): string {
  const path = pick([
    `/v1/jobs/${encodeURIComponent(pick(IDS))}`,
    `/v1/jobs/${encodeURIComponent(pick(IDS))}/events`,
    `/v1/events?${Array.from({ length: int(150) }, () => `id=${encodeURIComponent(pick(IDS))}`).join('&')}`,
    '/v1/jobs/%00',
    '/v1/jobs/%ff%fe',
    '/v1/jobs/%',
    '/v1/jobs/..%2f..%2fetc%2fpasswd',
    '/v1/jobs/fuzz:a/../../healthz',
    `/v1/jobs/${'a'.repeat(6000)}`,
    '//v1//jobs//fuzz:a',
    '/v1/events',
    '/v1/events?id=',
    '/v1/ws',
    `/${bytes(8).toString('hex')}`,
    '*',
    'http://evil.example/v1/jobs/fuzz:a',
  ])
  const token = pick(TOKENS())
  const q = token !== undefined && rand() < 0.5 ? `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : ''
  const headers = [
    'Host: 127.0.0.1',
    'Connection: close',
    ...(token !== undefined && q === '' ? [`Authorization: ${pick(['Bearer ', 'bearer ', 'Basic ', 'Bearer  ', ''])}${token}`] : []),
    ...(rand() < 0.6 ? [`Last-Event-ID: ${pick(['-1', '1e999', 'abc', '1,2,3', ','.repeat(1000), '9'.repeat(400), '0x10', ' 5', '١٢', '1.5', '', '%00'])}`] : []),
    ...(rand() < 0.3 ? [`If-None-Match: ${pick(['*', '"1"', 'W/"x"', '"'.repeat(100), ','.repeat(500)])}`] : []),
    ...(rand() < 0.3 ? [`Origin: ${pick(['https://evil.example', 'null', 'https://app.example.com', '%%%'])}`] : []),
    ...(rand() < 0.2 ? [`X-Forwarded-For: ${Array.from({ length: 50 }, () => '1.2.3.4').join(', ')}`] : []),
    ...(rand() < 0.2 ? [`X-Junk: ${'j'.repeat(int(12_000))}`] : []),
  ]
  const method = pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS', 'DELETE', 'PATCH', 'BREW', 'G\u00e9T'])
  const body = method === 'POST' ? `\r\nContent-Length: 5\r\n\r\nhello` : '\r\n\r\n'
  return `${method} ${path}${q} HTTP/1.1\r\n${headers.join('\r\n')}${body}`
}

// ---------- drivers ----------

/** Sends a raw HTTP request; resolves with the status code (0 when the server just closed). */
function sendRaw(request: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(gw.port, '127.0.0.1')
    let head = ''
    const done = (status: number): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(status)
    }
    const timer = setTimeout(() => done(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)), 400) // an SSE stream stays open: its status is enough
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head)
      if (m && head.includes('\r\n\r\n') && !/text\/event-stream/i.test(head)) done(Number(m[1]))
    })
    socket.on('error', () => done(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)))
    socket.on('close', () => done(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)))
    socket.write(request, 'latin1')
  })
}

async function rawWsAttack(): Promise<void> {
  let ws
  try {
    ws = await rawUpgrade(gw.port, `/v1/ws${rand() < 0.5 ? `?token=${validToken}` : ''}`)
  } catch {
    return
  }
  for (const f of rawFrames()) if (!ws.socket.destroyed) ws.socket.write(f)
  await Promise.race([ws.closed, new Promise((r) => setTimeout(r, 30))])
  ws.socket.destroy()
}

let fuzzWs: WebSocket | undefined
async function wsTextAttack(): Promise<void> {
  if (fuzzWs === undefined || fuzzWs.readyState !== WebSocket.OPEN) {
    fuzzWs?.terminate()
    fuzzWs = new WebSocket(`${gw.wsUrl}${rand() < 0.5 ? `?token=${validToken}` : ''}`)
    fuzzWs.on('error', () => undefined)
    await new Promise((r) => {
      fuzzWs?.once('open', r)
      fuzzWs?.once('close', r)
    })
  }
  if (fuzzWs.readyState !== WebSocket.OPEN) return
  if (rand() < 0.15) fuzzWs.send(bytes(int(3000)), { binary: true })
  else fuzzWs.send(wsTextFrame())
}

describe('fuzz', () => {
  it('survives hostile frames and requests; healthz answers and a healthy client gets every event', async () => {
    await gw.gateway.bus.publish({ id: HEALTHY, status: 'queued' })
    const ws = await openWs(`${gw.wsUrl}?token=${validToken}`)
    ws.send({ type: 'subscribe', id: HEALTHY })
    const sse = await openSse(`${gw.url}/v1/jobs/${HEALTHY}/events?token=${validToken}`)
    await ws.frames.until(() => ws.jobs(HEALTHY)[0], 3_000, 'healthy snapshot')

    let published = 1
    let publishing = true
    const ticker = (async () => {
      while (publishing) {
        await gw.gateway.bus.publish({ id: HEALTHY, status: 'active', progress: published % 100 })
        published++
        await new Promise((r) => setTimeout(r, 25))
      }
    })()

    const serverErrors: string[] = []
    const started = Date.now()
    let iterations = 0
    for (; iterations < ITERATIONS && Date.now() - started < BUDGET_MS; iterations++) {
      const kind = int(10)
      if (kind < 4) await wsTextAttack()
      else if (kind < 7) await rawWsAttack()
      else {
        const request = rawHttpRequest()
        const status = await sendRaw(request)
        if (status >= 500 && status !== 503) serverErrors.push(`${status} for ${JSON.stringify(request.slice(0, 300))}`)
      }
      if (iterations % 25 === 0) expect((await fetch(`${gw.url}/healthz`)).status, `healthz after ${iterations} (seed ${SEED})`).toBe(200)
    }
    publishing = false
    await ticker
    fuzzWs?.terminate()
    await gw.gateway.bus.publish({ id: HEALTHY, status: 'completed' })
    published++

    console.log(`[jobcast] fuzz: ${iterations} iterations in ${Date.now() - started} ms (seed ${SEED}); healthy job got ${published} events`)
    expect(serverErrors, `seed ${SEED}`).toEqual([])
    expect(iterations).toBeGreaterThan(Math.min(ITERATIONS, 50))
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
    await ws.frames.until(() => ws.jobs(HEALTHY).find((j) => j.status === 'completed'), 5_000, 'healthy ws terminal')
    await sse.ended
    for (const seqs of [ws.jobs(HEALTHY).map((j) => j.seq), sse.jobs().map((j) => j.seq)]) {
      expect(seqs, `seed ${SEED}`).toHaveLength(published)
      expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)), `in order (seed ${SEED})`).toBe(true)
    }
    ws.close()
  }, 3_700_000)
})
