/**
 * Minting job tokens from Node in one line. The app's backend calls this when it enqueues
 * a job and hands the token to the page together with the job id. See docs/security.md
 * for the same from PHP and Python.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { parseJobPattern } from './job-pattern.js'
import { MIN_SECRET_BYTES } from './verification-key.js'

/** Options of {@link signJobToken}. */
export interface SignJobTokenOptions {
  /** Job ids and/or prefix patterns such as `user-42:*` the token grants. */
  jobs: readonly string[]
  /** Lifetime: seconds, or a span such as `'90s'`, `'15m'`, `'2h'`, `'1d'`. Keep it short; clients refresh through their token callback. */
  expiresIn: number | string
  /** Shared HS256 secret, the same the gateway gets with `--secret`. */
  secret?: string | Uint8Array
  /** Private key (PKCS#8 PEM text or a Node `KeyObject`) for RS256/ES256 tokens; the gateway holds the public half. */
  privateKey?: string | KeyObject
  /**
   * Signature algorithm.
   * @default 'HS256' with a secret; RS256 for an RSA key, ES256 for a P-256 key, EdDSA for Ed25519
   */
  alg?: string
  /** Key id header, so a gateway with a JWKS picks the right key. @default undefined */
  kid?: string
  /** `sub` claim, e.g. the user id. @default undefined */
  sub?: string
  /** `aud` claim; must match the gateway's `--audience` when that is set. @default undefined */
  aud?: string | string[]
  /** `iss` claim; must match the gateway's `--issuer` when that is set. @default undefined */
  iss?: string
  /** Seconds from now before which the token is not valid (`nbf`). @default undefined (valid at once) */
  notBeforeIn?: number
  /** The clock, in ms since epoch. @default Date.now */
  now?: () => number
}

/**
 * Signs a job token.
 * @example
 * const token = await signJobToken({ jobs: [jobId], expiresIn: '15m', secret: process.env.JOBCAST_SECRET })
 */
export async function signJobToken(options: SignJobTokenOptions): Promise<string> {
  const bad = options.jobs.find((entry) => parseJobPattern(entry) === undefined)
  if (options.jobs.length === 0 || bad !== undefined)
    throw new TypeError(
      `[jobcast] signJobToken: ${bad === undefined ? 'jobs is empty' : `"${bad}" is neither a job id nor a prefix pattern like "user-42:*"`}; list the jobs the token grants`,
    )
  const nowSec = Math.floor((options.now ?? Date.now)() / 1000)
  const { key, alg } = signingKey(options)
  const jwt = new SignJWT({ jobs: [...options.jobs] })
    .setProtectedHeader({ alg, typ: 'JWT', ...(options.kid !== undefined && { kid: options.kid }) })
    .setIssuedAt(nowSec)
  const lifetime = lifetimeSec(options.expiresIn)
  if (lifetime === undefined)
    throw new TypeError('[jobcast] signJobToken: expiresIn must be a positive number of seconds or a span like "15m", "2h", "1d"')
  jwt.setExpirationTime(nowSec + lifetime)
  if (options.notBeforeIn !== undefined) jwt.setNotBefore(nowSec + Math.ceil(options.notBeforeIn))
  if (options.sub !== undefined) jwt.setSubject(options.sub)
  if (options.aud !== undefined) jwt.setAudience(options.aud)
  if (options.iss !== undefined) jwt.setIssuer(options.iss)
  return jwt.sign(key)
}

const UNIT_SEC: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

function lifetimeSec(expiresIn: number | string): number | undefined {
  if (typeof expiresIn === 'number') return expiresIn > 0 && Number.isFinite(expiresIn) ? Math.ceil(expiresIn) : undefined
  const match = /^(\d+)\s*([smhd])$/.exec(expiresIn.trim())
  if (match === null) return undefined
  const value = Number(match[1]) * (UNIT_SEC[match[2] as string] as number)
  return value > 0 ? value : undefined
}

function signingKey(options: SignJobTokenOptions): { key: Uint8Array | KeyObject; alg: string } {
  if ((options.secret === undefined) === (options.privateKey === undefined))
    throw new TypeError('[jobcast] signJobToken: give exactly one of secret (HS256) or privateKey (RS256/ES256)')
  if (options.secret !== undefined) {
    const key = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret
    if (key.byteLength < MIN_SECRET_BYTES)
      throw new TypeError(
        `[jobcast] signJobToken: the secret is ${key.byteLength} bytes, HS256 needs at least ${MIN_SECRET_BYTES}: generate one with "openssl rand -base64 48"`,
      )
    const alg = options.alg ?? 'HS256'
    if (!/^HS(256|384|512)$/.test(alg)) throw new TypeError(`[jobcast] signJobToken: ${alg} does not fit a secret; use HS256`)
    return { key, alg }
  }
  const key = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : (options.privateKey as KeyObject)
  if (key.type !== 'private') throw new TypeError('[jobcast] signJobToken: privateKey must be a private key (PKCS#8 PEM)')
  const type = key.asymmetricKeyType
  const curve = key.asymmetricKeyDetails?.namedCurve
  const own =
    type === 'rsa' ? 'RS256' : type === 'ed25519' ? 'EdDSA' : curve === 'prime256v1' ? 'ES256' : curve === 'secp384r1' ? 'ES384' : undefined
  const alg = options.alg ?? own
  if (alg === undefined) throw new TypeError(`[jobcast] signJobToken: unsupported private key type ${type ?? 'unknown'}; use RSA, EC P-256 or Ed25519`)
  return { key, alg }
}
