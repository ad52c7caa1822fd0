/**
 * The smaller findings of the security review, each against a real gateway: the same-host
 * origin rule compares scheme and port (a `Host` without a port means the scheme's default),
 * a WebSocket handshake must speak version 13 (RFC 6455), a private key is never taken as
 * the public key, and token lifetime can be capped.
 */
import { generateKeyPairSync } from 'node:crypto'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJwtAuthorizer } from '../../packages/gateway/src/auth/jwt-authorizer.js'
import { createSecurityHooks } from '../../packages/gateway/src/admission/security-hooks.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { mint, SECRET } from './tokens.js'
import { upgradeStatus as upgradeTo } from './upgrade.js'

let gw: TestGateway

beforeAll(async () => {
  gw = await startGateway({
    authorizer: createJwtAuthorizer({ secret: SECRET, maxTokenLifetimeSec: 3_600 }),
    security: createSecurityHooks({ corsOrigins: [] }),
  })
})
afterAll(() => gw?.close())

const upgradeStatus = (headers: Record<string, string>): Promise<number> => upgradeTo(gw.wsUrl, headers)

describe('same-host origin', () => {
  it('allows the gateway own origin, and refuses another scheme or port', async () => {
    const host = `127.0.0.1:${gw.port}`
    expect(await upgradeStatus({ origin: `http://${host}` })).toBe(101)
    expect(await upgradeStatus({ origin: `https://${host}` })).toBe(403)
    expect(await upgradeStatus({ origin: 'http://127.0.0.1:1' })).toBe(403)
  })

  it('reads a Host without a port as the default port of the scheme', async () => {
    expect(await upgradeStatus({ host: '127.0.0.1', origin: 'http://127.0.0.1:8081' })).toBe(403)
    expect(await upgradeStatus({ host: '127.0.0.1', origin: 'https://127.0.0.1' })).toBe(403)
    expect(await upgradeStatus({ host: '127.0.0.1', origin: 'http://127.0.0.1' })).toBe(101)
  })

  it('applies the same rule to CORS', async () => {
    const allowOrigin = async (origin: string): Promise<string | null> => {
      const res = await fetch(`${gw.url}/v1/jobs/user-1:cors`, { headers: { origin } })
      await res.body?.cancel()
      return res.headers.get('access-control-allow-origin')
    }
    expect(await allowOrigin(gw.url)).toBe(gw.url)
    expect(await allowOrigin(gw.url.replace('http:', 'https:'))).toBeNull()
  })
})

describe('WebSocket protocol version', () => {
  it.each(['8', '7', '12'])('refuses version %s with 426 and Sec-WebSocket-Version: 13', async (version) => {
    const head = await new Promise<string>((resolve, reject) => {
      const socket = connect(gw.port, '127.0.0.1')
      let text = ''
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1')
        // The head and a body, or a 101 (then the socket would stay open).
        if (/\r\n\r\n/.test(text) && (text.includes(' 101 ') || /\}$/.test(text))) socket.destroy()
      })
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
      socket.write(
        `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\n\r\n`,
      )
    })
    expect(head).toMatch(/^HTTP\/1\.1 426 /)
    expect(head).toMatch(/\r\nSec-WebSocket-Version: 13\r\n/i)
    expect(head).toMatch(/"code":"bad_request"/)
  })
})

describe('keys', () => {
  it('refuses a private key given as the public key (invalid_config)', () => {
    for (const type of ['ec', 'rsa', 'ed25519'] as const) {
      const { privateKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')
      for (const pem of [privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, privateKey]) {
        let thrown: unknown
        try {
          createJwtAuthorizer({ publicKey: pem })
        } catch (error) {
          thrown = error
        }
        expect(thrown).toMatchObject({ name: 'JobcastError', code: 'invalid_config' })
        expect((thrown as Error).message).toMatch(/^\[jobcast\] .*private key.*public/)
      }
    }
  })
})

describe('token lifetime cap', () => {
  const poll = async (token: string): Promise<{ status: number; code?: string; message?: string }> => {
    const res = await fetch(`${gw.url}/v1/jobs/user-1:lifetime`, { headers: { authorization: `Bearer ${token}` } })
    const body = (await res.json()) as { error?: { code: string; message: string } }
    return { status: res.status, code: body.error?.code, message: body.error?.message }
  }

  it('refuses a token expiring past the cap, or never (exp: 1e400), with unauthorized and says why', async () => {
    const now = Math.floor(Date.now() / 1000)
    const far = await poll(await mint({ jobs: ['user-1:*'], exp: now + 86_400 * 365 }))
    expect(far).toMatchObject({ status: 401, code: 'unauthorized' })
    expect(far.message).toMatch(/lifetime|--max-token-lifetime/)
    // 1e400 is Infinity once parsed: hand-written, since a JSON encoder cannot produce it.
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
    const payload = Buffer.from(`{"jobs":["user-1:*"],"aud":"jobcast-test","iss":"https://app.example.com","exp":1e400}`).toString('base64url')
    const { createHmac } = await import('node:crypto')
    const signature = createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url')
    expect(await poll(`${header}.${payload}.${signature}`)).toMatchObject({ status: 401, code: 'unauthorized' })
  })

  it('accepts a token within the cap', async () => {
    const now = Math.floor(Date.now() / 1000)
    expect(await poll(await mint({ jobs: ['user-1:*'], exp: now + 1_800 }))).toMatchObject({ status: 404, code: 'job_not_found' })
  })
})
