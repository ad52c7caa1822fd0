import type { JobError, JobEvent } from './protocol.js'

/**
 * Base of every error the client throws. `code` is stable: wire codes (`unauthorized`,
 * `forbidden`, `token_expired`, `job_not_found`, `invalid_job_id`, …) or the client's own
 * (`job_failed`, `job_cancelled`, `job_timeout`, `job_lost`, `client_closed`, `token_error`).
 * {@link GatewayError} (`not_found`) is about the client's `url`, not a job: no `jobId`.
 */
export class JobcastClientError extends Error {
  override name = 'JobcastClientError'
  /**
   * @param code - Stable machine-readable code.
   * @param jobId - The job this error is about.
   * @param job - The last job event seen before the error, if any.
   */
  constructor(
    readonly code: string,
    message: string,
    readonly jobId?: string,
    readonly job?: JobEvent,
    cause?: unknown,
  ) {
    // Gateway messages already carry the prefix: wrapped, they must not show it twice.
    super('[jobcast] ' + message.replace(/\[jobcast\] /g, ''), { cause })
  }
}

/** The job ended `failed`; `.error` is what the producer reported. */
export class JobFailedError extends JobcastClientError {
  override name = 'JobFailedError'
  /** The producer's error (`undefined` if the producer gave none). */
  readonly error: JobError
  constructor(job: JobEvent) {
    super('job_failed', `job ${job.id} failed: ${job.error?.message}`, job.id, job)
    this.error = job.error!
  }
}

/** The job ended `cancelled`. */
export class JobCancelledError extends JobcastClientError {
  override name = 'JobCancelledError'
  constructor(job: JobEvent) {
    super('job_cancelled', `job ${job.id} cancelled`, job.id, job)
  }
}

/** No terminal event in time: `reason` says whether the `timeout` passed or polling used up `maxAttempts`. */
export class JobTimeoutError extends JobcastClientError {
  override name = 'JobTimeoutError'
  constructor(
    readonly reason: 'deadline' | 'attempts',
    jobId: string,
    job?: JobEvent,
  ) {
    super('job_timeout', `job ${jobId}: ${reason} reached`, jobId, job)
  }
}

/** The gateway did not know the job, even after `notFoundGrace`. */
export class JobNotFoundError extends JobcastClientError {
  override name = 'JobNotFoundError'
  constructor(jobId: string) {
    super('job_not_found', `job ${jobId} not found: check the id (or notFoundGrace)`, jobId)
  }
}

/**
 * The gateway stopped knowing a job the client had already seen (it answered "unknown" for
 * `lostGrace` with no event in between, and again when asked once more): Redis lost the job's
 * snapshot, typically a restart without persistence, and nothing put it back. `.job` is the
 * last event seen.
 */
export class JobLostError extends JobcastClientError {
  override name = 'JobLostError'
  constructor(job: JobEvent) {
    super(
      'job_lost',
      `job ${job.id} (last ${job.status}) is no longer known to the gateway: Redis lost its data; turn on AOF`,
      job.id,
      job,
    )
  }
}

/** The gateway refused the token: `status` 401 (`unauthorized`, `token_expired`) or 403 (`forbidden`). */
export class AuthError extends JobcastClientError {
  override name = 'AuthError'
  readonly status: 401 | 403
  constructor(code: string, message: string, jobId: string, job?: JobEvent) {
    super(code, `job ${jobId}: ${code}, check the token. ${message}`, jobId, job)
    this.status = code == 'forbidden' ? 403 : 401
  }
}

/**
 * No gateway route at the client's `url`: every transport tried was answered 404 without a
 * job in question (the gateway's `not_found`, or a web server that is no gateway), so the
 * `url` misses the path the gateway is mounted at. Every wait of the client rejects with it.
 */
export class GatewayError extends JobcastClientError {
  override name = 'GatewayError'
  /** @param url - The client's `url` option, as used. */
  constructor(readonly url: string) {
    super('not_found', `no gateway at ${url} (404 on every transport): check url and the gateway's base path`)
  }
}

const is =
  <T>(name: string) =>
  (e: unknown): e is T =>
    (e as Error | null)?.name == name

// Guards compare `name`, not `instanceof`, so they hold across bundles and realms.
/** Is `e` a {@link JobcastClientError} (any subclass)? */
export const isJobcastClientError = (e: unknown): e is JobcastClientError => /^(Job|Auth|Gateway)/.test((e as Error | null)?.name!)
/** Is `e` a {@link JobFailedError}? */
export const isJobFailedError = is<JobFailedError>('JobFailedError')
/** Is `e` a {@link JobCancelledError}? */
export const isJobCancelledError = is<JobCancelledError>('JobCancelledError')
/** Is `e` a {@link JobTimeoutError}? */
export const isJobTimeoutError = is<JobTimeoutError>('JobTimeoutError')
/** Is `e` a {@link JobNotFoundError}? */
export const isJobNotFoundError = is<JobNotFoundError>('JobNotFoundError')
/** Is `e` a {@link JobLostError}? */
export const isJobLostError = is<JobLostError>('JobLostError')
/** Is `e` a {@link GatewayError}? */
export const isGatewayError = is<GatewayError>('GatewayError')
/** Is `e` an {@link AuthError}? */
export const isAuthError = is<AuthError>('AuthError')
/** Is `e` the rejection of an aborted signal (`DOMException` named `AbortError`)? */
export const isAbortError = is<DOMException>('AbortError')

/** The `AbortError` every aborted wait rejects with. @internal */
export const abortError = (): DOMException => new DOMException('[jobcast] aborted', 'AbortError')
