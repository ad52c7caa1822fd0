import type { ErrorCode } from './protocol.js'

/** Base of every error jobcast throws. `code` is stable and matches the wire error codes. */
export class JobcastError extends Error {
  override name = 'JobcastError'
  /** Stable, machine-readable code. */
  readonly code: ErrorCode
  /** The job the error is about, when there is one. */
  readonly jobId: string | undefined

  constructor(code: ErrorCode, message: string, options: { jobId?: string; cause?: unknown } = {}) {
    super(message.startsWith('[jobcast]') ? message : `[jobcast] ${message}`, { cause: options.cause })
    this.code = code
    this.jobId = options.jobId
  }
}

/** An event or id that breaks the contract in docs/protocol.md. */
export class ValidationError extends JobcastError {
  override name = 'ValidationError'
  /** The event field at fault (`progress`, `id`, …), `event` for the whole event, or undefined. */
  readonly field: string | undefined

  constructor(code: ErrorCode, message: string, options: { jobId?: string; cause?: unknown; field?: string } = {}) {
    super(code, message, options)
    this.field = options.field
  }
}

/** Is `error` a JobcastError (checked by name, so it works across realms and bundles)? */
export function isJobcastError(error: unknown): error is JobcastError {
  return error instanceof Error && (error.name === 'JobcastError' || error.name === 'ValidationError')
}

/** Is `error` a ValidationError? */
export function isValidationError(error: unknown): error is ValidationError {
  return error instanceof Error && error.name === 'ValidationError'
}
