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
import { errors, jwtVerify, type JWTVerifyOptions } from 'jose'
import { JobcastError } from '../errors.js'
import type { AuthDecision, Authorizer } from './authorizer.js'
import { grantsJob, parseJobsClaim, type JobPattern } from './job-pattern.js'
import { TokenCache } from './token-cache.js'
import { resolveVerificationKey, type JwtKeyOptions } from './verification-key.js'

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
  const { key, algorithms } = resolveVerificationKey(options, options.algorithms)
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
