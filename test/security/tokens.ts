/**
 * Token fixtures for the security suites: one valid token per case and every way a
 * token can be wrong. All are minted against {@link SECRET} / {@link AUDIENCE} / {@link ISSUER}.
 */
import { SignJWT } from 'jose'

export const SECRET = 'security-suite-secret-0123456789abcdef'
export const AUDIENCE = 'jobcast-test'
export const ISSUER = 'https://app.example.com'

/** `{"alg":"none","typ":"JWT"}.{"jobs":["job-a"],"exp":4102444800}.` — unsigned. */
export const ALG_NONE = 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJqb2JzIjpbImpvYi1hIl0sImV4cCI6NDEwMjQ0NDgwMH0.'

const nowSec = (): number => Math.floor(Date.now() / 1000)

/** Signs `claims` with HS256 (defaults: the suite's aud/iss, exp in 10 min). */
export function mint(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT({ aud: AUDIENCE, iss: ISSUER, exp: nowSec() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret))
}

/** An unsigned `alg: none` token with these claims. */
export function unsigned(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`
}

/** A bad-token case: the token for `target` and the error the gateway must answer. */
export interface AttackCase {
  readonly name: string
  readonly token: string | undefined
  readonly status: 401 | 403
  readonly code: 'unauthorized' | 'forbidden' | 'token_expired'
}

/** Every attack on a job `target` (which lives under `user-42:`). */
export async function attackCases(target: string): Promise<AttackCase[]> {
  const n = nowSec()
  const other = `${target}-other`
  return [
    { name: 'no token', token: undefined, status: 401, code: 'unauthorized' },
    { name: 'garbage token', token: 'garbage', status: 401, code: 'unauthorized' },
    { name: 'wrong signature', token: await mint({ jobs: [target] }, 'another-secret-0123456789abcdef0123456'), status: 401, code: 'unauthorized' },
    { name: 'alg none', token: unsigned({ jobs: [target], aud: AUDIENCE, iss: ISSUER, exp: n + 600 }), status: 401, code: 'unauthorized' },
    { name: 'alg none (literal fixture)', token: ALG_NONE, status: 401, code: 'unauthorized' },
    { name: 'expired', token: await mint({ jobs: [target], exp: n - 60 }), status: 401, code: 'token_expired' },
    { name: 'not yet valid', token: await mint({ jobs: [target], nbf: n + 300 }), status: 401, code: 'unauthorized' },
    { name: 'wrong audience', token: await mint({ jobs: [target], aud: 'someone-else' }), status: 401, code: 'unauthorized' },
    { name: 'wrong issuer', token: await mint({ jobs: [target], iss: 'https://evil.example' }), status: 401, code: 'unauthorized' },
    { name: 'token for A used on B', token: await mint({ jobs: [other] }), status: 403, code: 'forbidden' },
    { name: 'prefix user-4:* on user-42:…', token: await mint({ jobs: ['user-4:*'] }), status: 403, code: 'forbidden' },
  ]
}
