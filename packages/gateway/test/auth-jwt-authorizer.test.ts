import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJwtAuthorizer, type JwtAuthorizerOptions } from '../src/auth/jwt-authorizer.js'
import { signJobToken } from '../src/auth/sign-job-token.js'

const SECRET = 'test-secret-0123456789abcdef0123456789'
const OTHER_SECRET = 'other-secret-0123456789abcdef012345678'
/** 2030-01-01T00:00:00Z, a fixed clock so every token below is a fixture. */
const T0 = 1_893_456_000_000
const now = (): number => T0
const sec = T0 / 1000

/** `{"alg":"none","typ":"JWT"}.{"jobs":["job-a"],"exp":4102444800}.` — unsigned. */
const ALG_NONE = 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJqb2JzIjpbImpvYi1hIl0sImV4cCI6NDEwMjQ0NDgwMH0.'
/** Same with `"alg":"NONE"`. */
const ALG_NONE_UPPER = 'eyJhbGciOiJOT05FIiwidHlwIjoiSldUIn0.eyJqb2JzIjpbImpvYi1hIl0sImV4cCI6NDEwMjQ0NDgwMH0.'

const hs = (claims: Record<string, unknown>, secret = SECRET, alg = 'HS256'): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(secret))

const authorizer = (options: Partial<JwtAuthorizerOptions> = {}) => createJwtAuthorizer({ secret: SECRET, now, ...options })

describe('JWT authorizer (HS256)', () => {
  it('grants a listed job and reports when the grant ends', async () => {
    const token = await hs({ jobs: ['job-a'], exp: sec + 60 })
    expect(await authorizer({ clockToleranceSec: 0 }).authorize('job-a', token)).toEqual({ ok: true, expiresAt: T0 + 60_000 })
  })

  it.each([
    ['no token', undefined],
    ['empty token', ''],
    ['garbage', 'garbage'],
    ['three garbage parts', 'a.b.c'],
    ['alg none', ALG_NONE],
    ['alg NONE', ALG_NONE_UPPER],
    ['base64 junk', 'eyJhbGciOiJIUzI1NiJ9.e30.!!!!'],
  ])('refuses %s with unauthorized', async (_name, token) => {
    const decision = await authorizer().authorize('job-a', token)
    expect(decision).toMatchObject({ ok: false, code: 'unauthorized' })
    if (!decision.ok) expect(decision.message).toMatch(/^\[jobcast\] /)
  })

  it('refuses a wrong signature', async () => {
    const token = await hs({ jobs: ['job-a'], exp: sec + 60 }, OTHER_SECRET)
    expect(await authorizer().authorize('job-a', token)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('refuses a payload tampered after signing', async () => {
    const token = await hs({ jobs: ['job-a'], exp: sec + 60 })
    const [h, , s] = token.split('.')
    const forged = Buffer.from(JSON.stringify({ jobs: ['job-b'], exp: sec + 60 })).toString('base64url')
    expect(await authorizer().authorize('job-b', `${h}.${forged}.${s}`)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('refuses HS384 unless allowed', async () => {
    const token = await hs({ jobs: ['job-a'], exp: sec + 60 }, SECRET, 'HS384')
    expect(await authorizer().authorize('job-a', token)).toMatchObject({ ok: false, code: 'unauthorized' })
    expect(await authorizer({ algorithms: ['HS384'] }).authorize('job-a', token)).toMatchObject({ ok: true })
  })

  it('says token_expired for an expired token, with clock tolerance', async () => {
    const token = await hs({ jobs: ['job-a'], exp: sec - 10 })
    expect(await authorizer().authorize('job-a', token)).toMatchObject({ ok: false, code: 'token_expired' })
    expect(await authorizer({ clockToleranceSec: 30 }).authorize('job-a', token)).toEqual({ ok: true, expiresAt: T0 + 20_000 })
  })

  it('refuses a token whose nbf is in the future', async () => {
    const token = await hs({ jobs: ['job-a'], exp: sec + 600, nbf: sec + 60 })
    const decision = await authorizer().authorize('job-a', token)
    expect(decision).toMatchObject({ ok: false, code: 'unauthorized' })
    if (!decision.ok) expect(decision.message).toMatch(/nbf/)
  })

  it('refuses a token without exp', async () => {
    const decision = await authorizer().authorize('job-a', await hs({ jobs: ['job-a'] }))
    expect(decision).toMatchObject({ ok: false, code: 'unauthorized' })
    if (!decision.ok) expect(decision.message).toMatch(/exp/)
  })

  it.each([
    ['missing', {}],
    ['empty', { jobs: [] }],
    ['a string', { jobs: 'job-a' }],
    ['a bare *', { jobs: ['*'] }],
    ['a mid-id wildcard', { jobs: ['job-*'] }],
  ])('refuses a jobs claim that is %s', async (_name, claims) => {
    const decision = await authorizer().authorize('job-a', await hs({ ...claims, exp: sec + 60 }))
    expect(decision).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('checks aud, iss and sub against the configuration', async () => {
    const a = authorizer({ audience: 'jobcast', issuer: 'https://app.example.com', subject: 'user-42' })
    const good = { jobs: ['job-a'], exp: sec + 60, aud: 'jobcast', iss: 'https://app.example.com', sub: 'user-42' }
    expect(await a.authorize('job-a', await hs(good))).toMatchObject({ ok: true })
    for (const bad of [
      { ...good, aud: 'other' },
      { ...good, iss: 'https://evil.example' },
      { ...good, sub: 'user-43' },
      { jobs: ['job-a'], exp: sec + 60 },
    ]) {
      const decision = await a.authorize('job-a', await hs(bad))
      expect(decision).toMatchObject({ ok: false, code: 'unauthorized' })
    }
    // Without configuration the claims are not required.
    expect(await authorizer().authorize('job-a', await hs({ ...good, aud: 'anything' }))).toMatchObject({ ok: true })
  })

  it('answers forbidden for another job, the same whether or not that job exists', async () => {
    const a = authorizer()
    const token = await hs({ jobs: ['job-a'], exp: sec + 60 })
    const other = await a.authorize('job-b', token)
    const unknown = await a.authorize('never-created-job', token)
    expect(other).toMatchObject({ ok: false, code: 'forbidden' })
    expect(unknown).toMatchObject({ ok: false, code: 'forbidden' })
  })

  it('matches prefix patterns exactly: user-4:* never grants user-42:x', async () => {
    const a = authorizer()
    const token = await hs({ jobs: ['user-4:*'], exp: sec + 60 })
    expect(await a.authorize('user-4:export-1', token)).toMatchObject({ ok: true })
    expect(await a.authorize('user-42:x', token)).toMatchObject({ ok: false, code: 'forbidden' })
    expect(await a.authorize('user-4', token)).toMatchObject({ ok: false, code: 'forbidden' })
  })

  it('refuses an oversized token before parsing it', async () => {
    const a = authorizer({ maxTokenBytes: 512 })
    const big = await hs({ jobs: Array.from({ length: 40 }, (_, i) => `job-${i}-padding-padding`), exp: sec + 60 })
    expect(big.length).toBeGreaterThan(512)
    const decision = await a.authorize('job-1', big)
    expect(decision).toMatchObject({ ok: false, code: 'unauthorized' })
    if (!decision.ok) expect(decision.message).toMatch(/max-token-bytes/)
    expect(await a.authorize('job-a', 'x'.repeat(1_000_000))).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('caches a verified token until its exp (no second signature check)', async () => {
    let t = T0 + 20_000
    const a = createJwtAuthorizer({ secret: SECRET, now: () => t, clockToleranceSec: 0 })
    // nbf lies between T0 and T0+20 s: jose accepts it only at the later clock.
    const token = await hs({ jobs: ['job-a'], exp: sec + 60, nbf: sec + 10 })
    expect(await a.authorize('job-a', token)).toMatchObject({ ok: true })
    t = T0 // a fresh verification would now fail on nbf; the cached grant answers instead
    expect(await a.authorize('job-a', token)).toMatchObject({ ok: true })
    t = T0 + 60_000 // the cached grant ends with the token
    expect(await a.authorize('job-a', token)).toMatchObject({ ok: false, code: 'token_expired' })
  })

  it('verifies concurrent checks of one token once and answers all of them', async () => {
    const a = authorizer()
    const token = await hs({ jobs: ['user-1:*'], exp: sec + 60 })
    const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => a.authorize(`user-${i % 2}:j`, token)))
    expect(decisions.filter((d) => d.ok)).toHaveLength(25)
    expect(decisions.filter((d) => !d.ok && d.code === 'forbidden')).toHaveLength(25)
  })
})

describe('token lifetime cap', () => {
  it('accepts exp up to maxTokenLifetimeSec (plus clock tolerance) ahead and refuses farther or infinite ones', async () => {
    const capped = authorizer({ maxTokenLifetimeSec: 600, clockToleranceSec: 5 })
    expect(await capped.authorize('job-a', await hs({ jobs: ['job-a'], exp: sec + 605 }))).toMatchObject({ ok: true })
    const far = await capped.authorize('job-a', await hs({ jobs: ['job-a'], exp: sec + 606 }))
    expect(far).toMatchObject({ ok: false, code: 'unauthorized' })
    expect(far.ok ? '' : far.message).toMatch(/^\[jobcast\] token lifetime too long: .*600 s .*--max-token-lifetime/)
    expect(await authorizer().authorize('job-a', await hs({ jobs: ['job-a'], exp: sec + 10 * 365 * 86_400 }))).toMatchObject({ ok: true })
  })

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses maxTokenLifetimeSec %s with invalid_config', (value) => {
    expect(() => authorizer({ maxTokenLifetimeSec: value })).toThrow(expect.objectContaining({ code: 'invalid_config' }))
  })
})

describe('JWT authorizer with public keys', () => {
  let rsa: { publicKey: KeyObject; privateKey: KeyObject }
  let ec: { publicKey: KeyObject; privateKey: KeyObject }
  let dir: string
  let jwksFile: string

  beforeAll(async () => {
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    dir = mkdtempSync(join(tmpdir(), 'jobcast-auth-'))
    jwksFile = join(dir, 'jwks.json')
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ]
    writeFileSync(jwksFile, JSON.stringify({ keys }))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }).toString()
  const pkcs8 = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString()

  it('verifies RS256 with a PEM public key', async () => {
    const a = createJwtAuthorizer({ publicKey: pem(rsa.publicKey), now })
    const token = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: pkcs8(rsa.privateKey), now })
    expect(token.split('.')[0]).toBe(Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url'))
    expect(await a.authorize('job-a', token)).toMatchObject({ ok: true })
    expect(await a.authorize('job-b', token)).toMatchObject({ ok: false, code: 'forbidden' })
  })

  it('verifies ES256 with a PEM public key', async () => {
    const a = createJwtAuthorizer({ publicKey: pem(ec.publicKey), now })
    const token = await signJobToken({ jobs: ['user-4:*'], expiresIn: '5m', privateKey: ec.privateKey, now })
    expect(await a.authorize('user-4:x', token)).toMatchObject({ ok: true, expiresAt: T0 + 300_000 + 5_000 })
    expect(await a.authorize('user-42:x', token)).toMatchObject({ ok: false, code: 'forbidden' })
  })

  it('refuses the HS/RS confusion: HS256 signed with the public PEM as secret', async () => {
    const a = createJwtAuthorizer({ publicKey: pem(rsa.publicKey), now })
    const token = await hs({ jobs: ['job-a'], exp: sec + 60 }, pem(rsa.publicKey))
    expect(await a.authorize('job-a', token)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('refuses a token signed by another key of the same type, and ES256 on an RSA gateway', async () => {
    const a = createJwtAuthorizer({ publicKey: pem(rsa.publicKey), now })
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    const t1 = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: stranger, now })
    const t2 = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: ec.privateKey, now })
    expect(await a.authorize('job-a', t1)).toMatchObject({ ok: false, code: 'unauthorized' })
    expect(await a.authorize('job-a', t2)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('refuses an RS256 token on an HS256 gateway', async () => {
    const token = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: rsa.privateKey, now })
    expect(await authorizer().authorize('job-a', token)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('verifies RS256 and ES256 through a JWKS file, choosing the key by kid', async () => {
    const a = createJwtAuthorizer({ jwksFile, now, audience: 'jobcast' })
    const r = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: rsa.privateKey, kid: 'rsa-1', aud: 'jobcast', now })
    const e = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: ec.privateKey, kid: 'ec-1', aud: 'jobcast', now })
    expect(await a.authorize('job-a', r)).toMatchObject({ ok: true })
    expect(await a.authorize('job-a', e)).toMatchObject({ ok: true })
    const unknownKid = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: ec.privateKey, kid: 'nope', aud: 'jobcast', now })
    expect(await a.authorize('job-a', unknownKid)).toMatchObject({ ok: false, code: 'unauthorized' })
    const wrongAud = await signJobToken({ jobs: ['job-a'], expiresIn: 60, privateKey: ec.privateKey, kid: 'ec-1', aud: 'x', now })
    expect(await a.authorize('job-a', wrongAud)).toMatchObject({ ok: false, code: 'unauthorized' })
    expect(await a.authorize('job-a', ALG_NONE)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it('refuses unusable key configurations with a [jobcast] message', async () => {
    expect(() => createJwtAuthorizer({})).toThrow(/exactly one key source/)
    expect(() => createJwtAuthorizer({ secret: SECRET, jwksFile })).toThrow(/exactly one key source/)
    expect(() => createJwtAuthorizer({ secret: 'short' })).toThrow(/at least 32/)
    expect(() => createJwtAuthorizer({ secret: SECRET, algorithms: ['none'] })).toThrow(/"none"/)
    expect(() => createJwtAuthorizer({ secret: SECRET, algorithms: ['RS256'] })).toThrow(/do not fit a secret/)
    expect(() => createJwtAuthorizer({ publicKey: pem(rsa.publicKey), algorithms: ['HS256'] })).toThrow(/do not fit a public key/)
    expect(() => createJwtAuthorizer({ publicKey: 'not a pem' })).toThrow(/\[jobcast\] the public key/)
    expect(() => createJwtAuthorizer({ publicKey: rsa.privateKey })).toThrow(/is a private key/)
    expect(() => createJwtAuthorizer({ jwksFile: join(dir, 'missing.json') })).toThrow(/cannot read the JWKS file/)
    const priv = { keys: [{ ...(await exportJWK(ec.privateKey)), kid: 'x' }] }
    expect(() => createJwtAuthorizer({ jwks: priv })).toThrow(/private or symmetric/)
  })
})

describe('signJobToken', () => {
  it('mints an HS256 token the authorizer accepts, with exp from expiresIn', async () => {
    const token = await signJobToken({ jobs: ['job-a', 'user-1:*'], expiresIn: '15m', secret: SECRET, sub: 'u1', iss: 'app', aud: 'jobcast', now })
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    expect(payload).toEqual({ jobs: ['job-a', 'user-1:*'], iat: sec, exp: sec + 900, sub: 'u1', iss: 'app', aud: 'jobcast' })
    expect(await authorizer({ audience: 'jobcast', issuer: 'app' }).authorize('user-1:z', token)).toMatchObject({ ok: true })
  })

  it('sets nbf from notBeforeIn', async () => {
    const token = await signJobToken({ jobs: ['job-a'], expiresIn: 60, notBeforeIn: 30, secret: SECRET, now })
    expect(await authorizer({ clockToleranceSec: 0 }).authorize('job-a', token)).toMatchObject({ ok: false, code: 'unauthorized' })
  })

  it.each([
    [{ jobs: [], expiresIn: 60, secret: SECRET }, /jobs is empty/],
    [{ jobs: ['*'], expiresIn: 60, secret: SECRET }, /neither a job id nor a prefix pattern/],
    [{ jobs: ['a'], expiresIn: 0, secret: SECRET }, /expiresIn/],
    [{ jobs: ['a'], expiresIn: 'soon', secret: SECRET }, /expiresIn/],
    [{ jobs: ['a'], expiresIn: 60, secret: 'short' }, /at least 32/],
    [{ jobs: ['a'], expiresIn: 60 }, /exactly one of secret/],
    [{ jobs: ['a'], expiresIn: 60, secret: SECRET, alg: 'none' }, /does not fit a secret/],
  ])('refuses bad options %#', async (options, message) => {
    await expect(signJobToken(options)).rejects.toThrow(message)
  })
})
