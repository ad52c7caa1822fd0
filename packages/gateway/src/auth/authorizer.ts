/**
 * The one question every transport asks before a job's events leave the gateway:
 * may the holder of this token see this job? Transports call it; implementations
 * (open mode, JWT job tokens) answer it.
 */

/** Why access was refused. Same codes as on the wire. */
export type AuthFailureCode = 'unauthorized' | 'forbidden' | 'token_expired'

/** The answer of an {@link Authorizer}. */
export type AuthDecision =
  | {
      readonly ok: true
      /** When the grant ends (ms since epoch); the transport ends the subscription then with `token_expired`. */
      readonly expiresAt?: number
    }
  | { readonly ok: false; readonly code: AuthFailureCode; readonly message: string }

/** Decides whether a token grants access to a job's events. */
export interface Authorizer {
  /** True when every request is allowed (local development only). */
  readonly open: boolean
  /** `token` is the raw bearer token from the header, `?token=` or a WebSocket frame; `undefined` when none was sent. */
  authorize(jobId: string, token: string | undefined): Promise<AuthDecision>
}

const allow: AuthDecision = Object.freeze({ ok: true as const })

/** Allows everything. For local development: the gateway warns loudly at start when it is used. */
export const openAuthorizer: Authorizer = Object.freeze({
  open: true,
  authorize: async () => allow,
})
