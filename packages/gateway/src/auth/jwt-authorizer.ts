/**
 * The secured-mode {@link Authorizer}: job tokens are JWTs verified with `jose`.
 *
 * Decisions (docs/security.md):
 * - Algorithms are pinned by the key type, never taken from the token: a shared secret
 *   accepts only HS256 (by default), a public key only its own family (RS256 for RSA,
 *   ES256 for P-256 …), a JWKS only asymmetric algorithms. So `alg: none` and the classic
 *   HS/RS confusion (an HS256 token "signed" with the public key as secret) are refused.
 * - `exp` is required; `nbf`, `aud`, `iss`, `sub` are checked by jose against the options.
 * - The answer depends only on the token and the job id — never on whether the job exists —
 *   so a token for job A asking for job B gets `forbidden` whether or not B exists: the
 *   gateway offers no existence oracle. Transports authorize before they look at the bus.
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import { JobcastError } from '../errors.js'
import type { AuthDecision, Authorizer } from './authorizer.js'
import { grantsJob, parseJobsClaim, type JobPattern } from './job-pattern.js'
import { TokenCache } from './token-cache.js'

/** Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32

/** Algorithms a JWKS accepts unless told otherwise. */
export const DEFAULT_JWKS_ALGORITHMS: readonly string[] = ['RS256', 'ES256']

/** Where the verification key comes from: exactly one of `secret`, `publicKey`, `jwks`, `jwksFile`. */
export interface JwtKeyOptions {
  /** Shared HS256 secret (its UTF-8 bytes when a string), at least {@link MIN_SECRET_BYTES} bytes. */
  secret?: string | Uint8Array
  /** A public key: PEM text (SPKI `-----BEGIN PUBLIC KEY-----`, or a certificate) or a Node `KeyObject`. */
  publicKey?: string | KeyObject
  /** A JSON Web Key Set (`{"keys":[…]}`); the token's `kid` picks the key. */
  jwks?: JSONWebKeySet
  /** Path of a file holding a JSON Web Key Set; read once, at creation. */
  jwksFile?: string
}

/** Options of {@link createJwtAuthorizer}. */
export interface JwtAuthorizerOptions extends JwtKeyOptions {
  /**
   * Required `aud` claim (any of these when several).
   * @default undefined (the `aud` claim is not checked)
   */
  audience?: string | readonly string[]
  /**
   * Required `iss` claim (any of these when several).
   * @default undefined (not checked)
   */
  issuer?: string | readonly string[]
  /**
   * Required `sub` claim.
   * @default undefined (not checked)
   */
  subject?: string
  /**
   * Allowed signature algorithms. Must fit the key: HMAC ones for a secret, asymmetric
   * ones for a public key or JWKS; `none` is never allowed.
   * @default ['HS256'] for a secret, the key's own algorithm for a public key, ['RS256', 'ES256'] for a JWKS
   */
  algorithms?: readonly string[]
  /**
   * Seconds of clock skew tolerated on `exp` and `nbf`.
   * @default 5
   */
  clockToleranceSec?: number
  /**
   * Longest remaining lifetime accepted, in seconds: a token whose `exp` lies further ahead
   * (or is no finite time at all, such as `1e400`) is refused as `unauthorized`, so a leaked
   * token stays usable no longer than this, whatever its minter wrote.
   * @default undefined (no cap: `exp` is required, its distance is not bounded)
   */
  maxTokenLifetimeSec?: number
  /**
   * Longest token accepted, in bytes; longer ones are refused before any parsing.
   * @default 4096
   */
  maxTokenBytes?: number
  /**
   * Verified tokens remembered (LRU, each until it expires) so repeated checks skip the signature.
   * @default 1000
   */
  cacheSize?: number
  /**
   * The claim that lists the granted job ids and patterns: `jobs` for browsers' job tokens,
   * `publish` for producer tokens of HTTP ingest (same grammar).
   * @default 'jobs'
   */
  claim?: 'jobs' | 'publish'
  /**
   * The clock, in ms since epoch. For tests.
   * @default Date.now
   */
  now?: () => number
}

/** A JWT authorizer; `open` is always false. */
export interface JwtAuthorizer extends Authorizer {
  readonly open: false
}

interface Grant {
  readonly patterns: readonly JobPattern[]
  /** Ms since epoch, tolerance included. */
  readonly expiresAt: number
}

type Failure = Extract<AuthDecision, { ok: false }>

const fail = (code: Failure['code'], message: string): Failure => ({ ok: false, code, message })

const NO_TOKEN = fail(
  'unauthorized',
  '[jobcast] no token: send it as "Authorization: Bearer <token>", as ?token=<token>, or in the subscribe frame\'s "token" field',
)
const INVALID_TOKEN = fail(
  'unauthorized',
  '[jobcast] invalid token: its format, algorithm or signature was rejected; mint it with the key this gateway is configured with',
)
const EXPIRED = fail('token_expired', '[jobcast] token expired: mint a fresh one (the client asks its token callback again)')
const NOT_YET_VALID = fail(
  'unauthorized',
  '[jobcast] token not valid yet ("nbf" is in the future): check the clock of the server that minted it',
)
const badClaim = (claim: string): Failure =>
  fail('unauthorized', `[jobcast] token has no valid "${claim}" claim: it must be a non-empty array of job ids and prefix patterns such as "user-42:*"`)

/** Creates the JWT authorizer; throws a `[jobcast]` error when the key configuration is unusable. */
export function createJwtAuthorizer(options: JwtAuthorizerOptions): JwtAuthorizer {
  const { key, algorithms } = resolveKey(options)
  const now = options.now ?? Date.now
  const toleranceSec = options.clockToleranceSec ?? 5
  const maxTokenBytes = options.maxTokenBytes ?? 4096
  const maxLifetimeSec = options.maxTokenLifetimeSec
  if (maxLifetimeSec !== undefined && !(maxLifetimeSec > 0 && Number.isFinite(maxLifetimeSec)))
    throw new JobcastError('invalid_config', `[jobcast] maxTokenLifetimeSec must be a positive number of seconds, got ${String(maxLifetimeSec)}`)
  const tooLong =
    maxLifetimeSec === undefined
      ? undefined
      : fail(
          'unauthorized',
          `[jobcast] token lifetime too long: its "exp" is more than ${maxLifetimeSec} s ahead (--max-token-lifetime); mint tokens that expire sooner`,
        )
  const claim = options.claim ?? 'jobs'
  const BAD_JOBS = badClaim(claim)
  const cache = new TokenCache<Grant>(options.cacheSize ?? 1000)
  // Refusals that cannot change with time (bad signature, bad claims) are remembered briefly
  // too, so a client repeating a garbage token costs a map lookup, not a verification.
  const refused = new TokenCache<Failure>(256)
  const inflight = new Map<string, Promise<Grant | Failure>>()
  const toList = (v: string | readonly string[] | undefined): string[] | undefined =>
    v === undefined ? undefined : typeof v === 'string' ? [v] : [...v]
  const audience = toList(options.audience)
  const issuer = toList(options.issuer)

  const verifyOptions = (): JWTVerifyOptions => ({
    algorithms: [...algorithms],
    requiredClaims: ['exp'],
    clockTolerance: toleranceSec,
    currentDate: new Date(now()),
    ...(audience !== undefined && { audience }),
    ...(issuer !== undefined && { issuer }),
    ...(options.subject !== undefined && { subject: options.subject }),
  })

  async function verify(token: string): Promise<Grant | Failure> {
    try {
      // Two calls because jose overloads jwtVerify separately for a key and a key-picking function.
      const { payload } =
        typeof key === 'function' ? await jwtVerify(token, key, verifyOptions()) : await jwtVerify(token, key, verifyOptions())
      const patterns = parseJobsClaim(payload[claim])
      if (patterns === undefined) {
        refused.set(token, BAD_JOBS, now() + 60_000)
        return BAD_JOBS
      }
      // requiredClaims guarantees exp exists; jose has checked it is a number.
      const exp = payload.exp as number
      // Not cached as refused: the same token fits the cap once enough time has passed. `!(<=)` also refuses Infinity.
      if (tooLong !== undefined && maxLifetimeSec !== undefined && !(exp - now() / 1000 <= maxLifetimeSec + toleranceSec)) return tooLong
      const expiresAt = (exp + toleranceSec) * 1000
      const grant: Grant = { patterns, expiresAt }
      cache.set(token, grant, expiresAt)
      return grant
    } catch (error) {
      const failure = classify(error)
      if (failure !== EXPIRED && failure !== NOT_YET_VALID) refused.set(token, failure, now() + 60_000)
      return failure
    }
  }

  return Object.freeze({
    open: false as const,
    async authorize(jobId: string, token: string | undefined): Promise<AuthDecision> {
      if (token === undefined || token === '') return NO_TOKEN
      // String length <= UTF-8 byte length, and a compact JWT is ASCII: checking length is exact for valid tokens.
      if (token.length > maxTokenBytes)
        return fail(
          'unauthorized',
          `[jobcast] token is ${token.length} bytes, over the gateway's limit of ${maxTokenBytes} (--max-token-bytes): grant a prefix pattern such as "user-42:*" instead of a long list of ids`,
        )
      let grant: Grant | Failure | undefined = cache.get(token, now()) ?? refused.get(token, now())
      if (grant === undefined) {
        let pending = inflight.get(token)
        if (pending === undefined) {
          pending = verify(token).finally(() => inflight.delete(token))
          inflight.set(token, pending)
        }
        grant = await pending
      }
      if ('ok' in grant) return grant
      if (now() >= grant.expiresAt) return EXPIRED
      if (!grantsJob(grant.patterns, jobId)) return fail('forbidden', `[jobcast] the token does not grant job "${jobId}"`)
      return { ok: true, expiresAt: grant.expiresAt }
    },
  })
}

function classify(error: unknown): Failure {
  if (error instanceof errors.JWTExpired) return EXPIRED
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return NOT_YET_VALID
    if (error.claim === 'exp') return fail('unauthorized', '[jobcast] token has no "exp" claim: every job token must expire')
    return fail(
      'unauthorized',
      `[jobcast] token claim "${error.claim}" ${error.reason === 'missing' ? 'is missing' : 'does not match'}: the gateway expects the value set by --${flagOf(error.claim)}`,
    )
  }
  return INVALID_TOKEN
}

const flagOf = (claim: string): string => (claim === 'aud' ? 'audience' : claim === 'iss' ? 'issuer' : claim === 'sub' ? 'subject' : claim)

const PRIVATE_KEY_MESSAGE =
  '[jobcast] the key given as public key is a private key: give the gateway only the public half ' +
  '(openssl pkey -in private.pem -pubout -out public.pem); the private key stays with the app that mints tokens'

type VerifyKey = Uint8Array | KeyObject | JWTVerifyGetKey

function resolveKey(options: JwtAuthorizerOptions): { key: VerifyKey; algorithms: readonly string[] } {
  const given = (['secret', 'publicKey', 'jwks', 'jwksFile'] as const).filter((k) => options[k] !== undefined)
  if (given.length !== 1)
    throw new JobcastError('invalid_config', 
      `[jobcast] the JWT authorizer needs exactly one key source, got ${given.length === 0 ? 'none' : given.join(' + ')}: set --secret (HS256), --public-key or --jwks`,
    )
  if (options.algorithms?.some((a) => a.toLowerCase() === 'none'))
    throw new JobcastError('invalid_config', '[jobcast] algorithm "none" can never be allowed: remove it from the algorithms option')

  if (options.secret !== undefined) {
    const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret
    if (secret.byteLength < MIN_SECRET_BYTES)
      throw new JobcastError('invalid_config', 
        `[jobcast] the secret is ${secret.byteLength} bytes, HS256 needs at least ${MIN_SECRET_BYTES}: generate one with "openssl rand -base64 48"`,
      )
    return { key: secret, algorithms: checkFamily(options.algorithms ?? ['HS256'], 'HS', 'a secret') }
  }
  if (options.publicKey !== undefined) {
    // Node derives the public half from a private key without a word: refuse it, or the
    // private key would sit on the gateway, able to mint tokens, unnoticed.
    if ((typeof options.publicKey === 'string' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(options.publicKey)) || (typeof options.publicKey !== 'string' && options.publicKey.type !== 'public'))
      throw new JobcastError('invalid_config', PRIVATE_KEY_MESSAGE)
    let key: KeyObject
    try {
      key = typeof options.publicKey === 'string' ? createPublicKey(options.publicKey) : options.publicKey
    } catch (cause) {
      throw new JobcastError('invalid_config', '[jobcast] the public key is not a PEM public key or certificate: pass the file holding "-----BEGIN PUBLIC KEY-----"', {
        cause,
      })
    }
    const own = algorithmOf(key)
    return { key, algorithms: checkFamily(options.algorithms ?? [own], 'asymmetric', 'a public key') }
  }
  let jwks = options.jwks
  if (options.jwksFile !== undefined) {
    try {
      jwks = JSON.parse(readFileSync(options.jwksFile, 'utf8')) as JSONWebKeySet
    } catch (cause) {
      throw new JobcastError('invalid_config', `[jobcast] cannot read the JWKS file ${options.jwksFile}: it must hold JSON like {"keys":[…]}`, { cause })
    }
  }
  if (jwks === undefined || !Array.isArray((jwks as { keys?: unknown }).keys))
    throw new JobcastError('invalid_config', '[jobcast] the JWKS must be an object with a "keys" array')
  if (jwks.keys.some((k) => k.d !== undefined || k.kty === 'oct'))
    throw new JobcastError('invalid_config', '[jobcast] the JWKS holds private or symmetric keys: publish only public keys to the gateway')
  return { key: createLocalJWKSet(jwks), algorithms: checkFamily(options.algorithms ?? DEFAULT_JWKS_ALGORITHMS, 'asymmetric', 'a JWKS') }
}

function checkFamily(algorithms: readonly string[], family: 'HS' | 'asymmetric', what: string): readonly string[] {
  const ok = algorithms.length > 0 && algorithms.every((a) => (family === 'HS' ? /^HS(256|384|512)$/.test(a) : /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(a)))
  if (!ok)
    throw new JobcastError('invalid_config', 
      `[jobcast] algorithms ${JSON.stringify(algorithms)} do not fit ${what}: use ${family === 'HS' ? 'HS256/HS384/HS512' : 'RS*, PS*, ES* or EdDSA'}`,
    )
  return Object.freeze([...algorithms])
}

function algorithmOf(key: KeyObject): string {
  const type = key.asymmetricKeyType
  if (type === 'rsa') return 'RS256'
  if (type === 'rsa-pss') return 'PS256'
  if (type === 'ed25519') return 'EdDSA'
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve === 'prime256v1') return 'ES256'
    if (curve === 'secp384r1') return 'ES384'
    if (curve === 'secp521r1') return 'ES512'
  }
  throw new JobcastError('invalid_config', `[jobcast] unsupported public key type ${type ?? 'unknown'}: use RSA, EC P-256/P-384/P-521 or Ed25519`)
}
