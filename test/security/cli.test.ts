/**
 * Secured mode is the CLI's default: without a key it refuses to start and says how to fix
 * it; open mode must be asked for and warns; with a key, tokens, origins and per-IP limits
 * are enforced by the built `jobcast-gateway` exactly as configured by its flags.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { mint, SECRET } from './tokens.js'
import { upgradeStatus as upgrade } from './upgrade.js'

const cli = fileURLToPath(new URL('../../packages/gateway/dist/cli.js', import.meta.url))
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** Runs the CLI; resolves when `until` matches its output, or with the exit code when it exits first. */
function run(args: string[], env: Record<string, string> = {}, until = /listening on (http:\/\/\S+)/): Promise<{ out: string; code: number | null; url?: string; child: ChildProcess }> {
  expect(existsSync(cli), '[jobcast] packages/gateway/dist/cli.js is missing: run npm run build (npm test does)').toBe(true)
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JOBCAST_')))
  const child = spawn(process.execPath, [cli, '--port', '0', ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ out, code: null, child }), 10_000)
    const check = (): void => {
      const match = until.exec(out)
      if (match) {
        clearTimeout(timer)
        // Let the rest of the banner (and any warning after it) arrive.
        setTimeout(() => resolve({ out, code: null, url: match[1], child }), 150)
      }
    }
    child.stdout?.on('data', (chunk) => ((out += chunk), check()))
    child.stderr?.on('data', (chunk) => ((out += chunk), check()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ out, code, child })
    })
  })
}


describe('jobcast-gateway CLI security', () => {
  it('refuses to start without a key and says how to fix it', async () => {
    const { code, out } = await run([])
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(out).toMatch(/--secret/)
    expect(out).toMatch(/--insecure-open/)
    expect(out).not.toMatch(/listening on/)
  })

  it('refuses a secret shorter than 32 bytes', async () => {
    const { code, out } = await run([], { JOBCAST_SECRET: 'too-short' })
    expect(code).not.toBe(0)
    expect(out).toMatch(/at least 32/)
  })

  it('refuses a private key given as --public-key, with exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobcast-key-'))
    try {
      const file = join(dir, 'signing.pem')
      writeFileSync(file, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
      const { code, out } = await run(['--public-key', file])
      expect(code).toBe(2)
      expect(out).toMatch(/^\[jobcast\] the key given as public key is a private key/m)
      expect(out).not.toMatch(/listening on/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('caps token lifetime with --max-token-lifetime', async () => {
    const { url, out } = await run(['--max-token-lifetime', '120'], { JOBCAST_SECRET: SECRET })
    expect(url, out).toBeDefined()
    const status = async (exp: number): Promise<number> => {
      const token = await mint({ jobs: ['user-1:*'], exp: Math.floor(Date.now() / 1000) + exp })
      const res = await fetch(`${url as string}/v1/jobs/user-1:x`, { headers: { authorization: `Bearer ${token}` } })
      await res.body?.cancel()
      return res.status
    }
    expect(await status(3_600)).toBe(401)
    expect(await status(60)).toBe(404)
  })

  it('starts in open mode only when asked, with a loud warning', async () => {
    const { out } = await run(['--insecure-open'], {}, /WARNING/i)
    expect(out).toMatch(/listening on http:\/\//)
    expect(out).toMatch(/WARNING[^\n]*open mode/i)
  })

  it('enforces tokens, the origin list and per-IP limits configured by flags and env', async () => {
    const { url, out } = await run(
      ['--cors-origin', 'https://app.example.com', '--cors-origin=https://admin.example.com', '--max-connections-per-ip', '2', '--poll-rate', '2:2'],
      { JOBCAST_SECRET: SECRET },
    )
    expect(url, out).toBeDefined()
    expect(out).not.toMatch(/WARNING/)
    const base = url as string
    const wsUrl = `${base.replace(/^http/, 'ws')}/v1/ws`
    const token = await mint({ jobs: ['user-1:*'] })
    // Tokens: none → 401; valid → 404 for an unknown job the token grants (auth passed).
    expect((await fetch(`${base}/v1/jobs/user-1:x`)).status).toBe(401)
    expect((await fetch(`${base}/v1/jobs/user-1:x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404)
    // Polling rate 2/s burst 2: the third request in a row is limited.
    const third = await fetch(`${base}/v1/jobs/user-1:x`, { headers: { authorization: `Bearer ${token}` } })
    expect(third.status).toBe(429)
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/)
    // CORS preflight: both configured origins, not others.
    const pre = (origin: string) =>
      fetch(`${base}/v1/jobs/user-1:x`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } })
    expect((await pre('https://admin.example.com')).headers.get('access-control-allow-origin')).toBe('https://admin.example.com')
    expect((await pre('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull()
    // WebSocket: foreign origin refused; two per IP.
    expect(await upgrade(wsUrl, { origin: 'https://evil.example' })).toBe(403)
    const a = new WebSocket(wsUrl, { headers: { origin: 'https://app.example.com' } })
    const b = new WebSocket(wsUrl)
    await Promise.all([a, b].map((ws) => new Promise((r) => ws.once('open', r))))
    expect(await upgrade(wsUrl, {})).toBe(429)
    a.close()
    b.close()
  })

  it('lists the security flags in --help', async () => {
    const { out } = await run(['--help'], {}, /$^/)
    for (const flag of ['--secret', '--public-key', '--jwks', '--audience', '--issuer', '--cors-origin', '--max-connections-per-ip', '--max-sse-per-ip', '--poll-rate', '--max-token-bytes', '--max-token-lifetime', '--max-sockets-per-ip', '--max-sockets', '--request-timeout', '--insecure-open']) {
      expect(out).toContain(flag)
    }
  })
})
