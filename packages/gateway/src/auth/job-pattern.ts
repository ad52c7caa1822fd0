/**
 * The `jobs` claim of a job token: which job ids a token grants. Pure: no I/O.
 *
 * Grammar (docs/security.md#the-jobs-claim):
 * - an exact job id, e.g. `export-42`;
 * - a prefix pattern `<prefix>:*`, e.g. `user-42:*`, granting every id that starts with
 *   `<prefix>:` followed by at least one more character. The `*` is allowed only as the
 *   very last character and only right after a `:`, so a pattern always ends at a
 *   separator the app chose: `user-4:*` grants `user-4:x` but never `user-42:x`.
 *
 * Anything else (a bare `*`, `user-*`, `a:*:b`, an id with characters outside the job id
 * alphabet) makes the whole token invalid rather than silently granting less or more:
 * a typo in the minting code should fail loudly in development, not in production.
 */
import { JOB_ID_PATTERN, MAX_JOB_ID_LENGTH } from '../protocol.js'

/** One parsed entry of the `jobs` claim. */
export type JobPattern =
  | { readonly kind: 'exact'; readonly id: string }
  /** `prefix` includes the trailing `:`. */
  | { readonly kind: 'prefix'; readonly prefix: string }

/** Most entries a `jobs` claim may hold (a token is not a database). */
export const MAX_JOB_PATTERNS = 256

/** Parses one `jobs` entry; `undefined` when it breaks the grammar above. */
export function parseJobPattern(entry: unknown): JobPattern | undefined {
  if (typeof entry !== 'string') return undefined
  if (entry.endsWith(':*')) {
    const prefix = entry.slice(0, -1) // keep the ':'
    // The prefix plus at least one character must still fit a job id.
    // At least one character before the colon: `:*` would grant every id starting with ":".
    if (prefix.length < 2 || prefix.length >= MAX_JOB_ID_LENGTH || !JOB_ID_PATTERN.test(prefix)) return undefined
    return { kind: 'prefix', prefix }
  }
  if (!JOB_ID_PATTERN.test(entry)) return undefined
  return { kind: 'exact', id: entry }
}

/**
 * Parses a whole `jobs` claim: a non-empty array of at most {@link MAX_JOB_PATTERNS}
 * valid entries. Returns `undefined` when the claim is missing or any entry is invalid.
 */
export function parseJobsClaim(claim: unknown): readonly JobPattern[] | undefined {
  if (!Array.isArray(claim) || claim.length === 0 || claim.length > MAX_JOB_PATTERNS) return undefined
  const patterns: JobPattern[] = []
  for (const entry of claim) {
    const pattern = parseJobPattern(entry)
    if (pattern === undefined) return undefined
    patterns.push(pattern)
  }
  return patterns
}

/** Does one pattern grant `jobId`? */
export function matchesJobPattern(pattern: JobPattern, jobId: string): boolean {
  if (pattern.kind === 'exact') return pattern.id === jobId
  return jobId.length > pattern.prefix.length && jobId.startsWith(pattern.prefix)
}

/** Does any of `patterns` grant `jobId`? */
export function grantsJob(patterns: readonly JobPattern[], jobId: string): boolean {
  for (const pattern of patterns) if (matchesJobPattern(pattern, jobId)) return true
  return false
}
