import { describe, expect, it } from 'vitest'
import {
  AuthError,
  GatewayError,
  JobCancelledError,
  JobFailedError,
  JobLostError,
  JobNotFoundError,
  JobTimeoutError,
  JobcastClientError,
  isAbortError,
  isAuthError,
  isGatewayError,
  isJobCancelledError,
  isJobFailedError,
  isJobLostError,
  isJobNotFoundError,
  isJobTimeoutError,
  isJobcastClientError,
} from '../src/index.js'
import { abortError } from '../src/errors.js'
import { ev } from './helpers.js'

describe('errors', () => {
  it('carry codes, names, the job and a [jobcast] message', () => {
    const failed = ev('a', 'failed', { error: { message: 'disk full', code: 'ENOSPC' } })
    const cases: [Error, string, string][] = [
      [new JobFailedError(failed), 'JobFailedError', 'job_failed'],
      [new JobCancelledError(ev('a', 'cancelled')), 'JobCancelledError', 'job_cancelled'],
      [new JobTimeoutError('deadline', 'a'), 'JobTimeoutError', 'job_timeout'],
      [new JobNotFoundError('a'), 'JobNotFoundError', 'job_not_found'],
      [new JobLostError(ev('a', 'active')), 'JobLostError', 'job_lost'],
      [new AuthError('forbidden', 'nope', 'a'), 'AuthError', 'forbidden'],
      [new JobcastClientError('client_closed', 'x', 'a'), 'JobcastClientError', 'client_closed'],
    ]
    for (const [e, name, code] of cases) {
      expect(e).toBeInstanceOf(JobcastClientError)
      expect(e.name).toBe(name)
      expect((e as JobcastClientError).code).toBe(code)
      expect((e as JobcastClientError).jobId).toBe('a')
      expect(e.message).toMatch(/^\[jobcast\] /)
      expect(isJobcastClientError(e)).toBe(true)
    }
    const f = new JobFailedError(failed)
    expect(f.error).toEqual({ message: 'disk full', code: 'ENOSPC' })
    expect(f.job).toBe(failed)
    expect(new JobTimeoutError('attempts', 'a').reason).toBe('attempts')
    expect(new AuthError('unauthorized', '', 'a').status).toBe(401)
    expect(new AuthError('token_expired', '', 'a').status).toBe(401)
    expect(new AuthError('forbidden', '', 'a').status).toBe(403)
  })

  it('GatewayError is about the url, not a job, and says what to check', () => {
    const e = new GatewayError('https://example.com/jobcast')
    expect(e).toBeInstanceOf(JobcastClientError)
    expect(e).toMatchObject({ name: 'GatewayError', code: 'not_found', url: 'https://example.com/jobcast', jobId: undefined })
    expect(e.message).toBe("[jobcast] no gateway at https://example.com/jobcast (404 on every transport): check url and the gateway's base path")
    expect(isJobcastClientError(e)).toBe(true)
    expect(isGatewayError(e)).toBe(true)
    expect(isGatewayError(new JobNotFoundError('a'))).toBe(false)
  })

  it('guards check the name, so they work across realms and bundles', () => {
    const foreign = Object.assign(new Error('x'), { name: 'JobFailedError', code: 'job_failed' })
    expect(isJobFailedError(foreign)).toBe(true)
    expect(isJobFailedError(new JobCancelledError(ev('a', 'cancelled')))).toBe(false)
    expect(isJobCancelledError(new JobCancelledError(ev('a', 'cancelled')))).toBe(true)
    expect(isJobTimeoutError(new JobTimeoutError('deadline', 'a'))).toBe(true)
    expect(isJobNotFoundError(new JobNotFoundError('a'))).toBe(true)
    expect(isJobLostError(new JobLostError(ev('a', 'active')))).toBe(true)
    expect(isJobLostError(new JobNotFoundError('a'))).toBe(false)
    expect(isAuthError(new AuthError('forbidden', '', 'a'))).toBe(true)
    expect(isAbortError(abortError())).toBe(true)
    expect(abortError()).toBeInstanceOf(DOMException)
    for (const g of [isJobFailedError, isAuthError, isGatewayError, isAbortError, isJobcastClientError]) {
      expect(g(null)).toBe(false)
      expect(g(undefined)).toBe(false)
      expect(g('JobFailedError')).toBe(false)
      expect(g(new Error('x'))).toBe(false)
    }
  })

  it('a wrapped gateway message shows the [jobcast] prefix once', () => {
    expect(new JobcastClientError('bad_cursor', '[jobcast] since is not a seq', 'a').message).toBe('[jobcast] since is not a seq')
    expect(new AuthError('forbidden', '[jobcast] a token for other jobs', 'a').message).toBe('[jobcast] job a: forbidden, check the token. a token for other jobs')
  })

  it('JobLostError carries the last event and says what to do', () => {
    const last = ev('a', 'active', { progress: 60 })
    const lost = new JobLostError(last)
    expect(lost.job).toBe(last)
    expect(lost.message).toBe('[jobcast] job a (last active) is no longer known to the gateway: Redis lost its data; turn on AOF')
  })
})
