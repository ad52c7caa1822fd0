import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { authorizerFromConfig, OPEN_MODE_WARNING } from '../src/auth/authorizer-from-config.js'
import { signJobToken } from '../src/auth/sign-job-token.js'
import { parsePollRate } from '../src/rate-options.js'

const SECRET = 'from-config-secret-0123456789abcdef0123'
const dir = mkdtempSync(join(tmpdir(), 'jobcast-cfg-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('authorizerFromConfig', () => {
  it('refuses to start without a key unless open mode is asked for, and says how to fix it', () => {
    expect(() => authorizerFromConfig({})).toThrow(/--secret[\s\S]*--insecure-open/)
    const open = authorizerFromConfig({ insecureOpen: true })
    expect(open.authorizer.open).toBe(true)
    expect(open.warning).toBe(OPEN_MODE_WARNING)
    expect(open.warning).toMatch(/WARNING/)
  })

  it('builds an HS256 authorizer from a secret, with audience and issuer', async () => {
    const { authorizer, warning } = authorizerFromConfig({ secret: SECRET, audience: 'jobcast', issuer: 'app' })
    expect(authorizer.open).toBe(false)
    expect(warning).toBeUndefined()
    const good = await signJobToken({ jobs: ['a'], expiresIn: 60, secret: SECRET, aud: 'jobcast', iss: 'app' })
    const noAud = await signJobToken({ jobs: ['a'], expiresIn: 60, secret: SECRET, iss: 'app' })
    expect(await authorizer.authorize('a', good)).toMatchObject({ ok: true })
    expect(await authorizer.authorize('a', noAud)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('reads a PEM public key file', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const file = join(dir, 'pub.pem')
    writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }))
    const { authorizer } = authorizerFromConfig({ publicKeyFile: file })
    expect(await authorizer.authorize('a', await signJobToken({ jobs: ['a'], expiresIn: 60, privateKey }))).toMatchObject({ ok: true })
    expect(() => authorizerFromConfig({ publicKeyFile: join(dir, 'missing.pem') })).toThrow(/cannot read the public key file/)
  })

  it('refuses two key sources and an open flag does not override a key', () => {
    expect(() => authorizerFromConfig({ secret: SECRET, jwksFile: 'x' })).toThrow(/only one/)
    expect(authorizerFromConfig({ secret: SECRET, insecureOpen: true }).authorizer.open).toBe(false)
  })

  it('honours maxTokenBytes', async () => {
    const { authorizer } = authorizerFromConfig({ secret: SECRET, maxTokenBytes: 100 })
    const token = await signJobToken({ jobs: ['a'], expiresIn: 60, secret: SECRET })
    expect(await authorizer.authorize('a', token)).toMatchObject({ ok: false, code: 'unauthorized' })
  })
})

describe('parsePollRate', () => {
  it.each([
    ['20', { pollRatePerSec: 20, pollBurst: 40 }],
    ['5:10', { pollRatePerSec: 5, pollBurst: 10 }],
    ['0.5:3', { pollRatePerSec: 0.5, pollBurst: 3 }],
    ['0', { pollRatePerSec: 0, pollBurst: 1 }],
  ])('%s', (text, expected) => {
    expect(parsePollRate(text)).toEqual(expected)
  })

  it.each([['fast'], ['-1'], ['1:'], ['1:2:3']])('refuses %j', (text) => {
    expect(() => parsePollRate(text)).toThrow(/\[jobcast\] --poll-rate/)
  })
})
