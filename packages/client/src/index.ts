/**
 * `@jobcast/client`: wait for a background job from the browser (or Node ≥ 20) over
 * WebSocket, then SSE, then polling.
 * @packageDocumentation
 */
export { createClient } from './client.js'
export { isTerminal } from './is-terminal.js'
export type { JobcastClient } from './client.js'
export { waitForJob } from './wait-for-job.js'
export {
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
} from './errors.js'
export type {
  ClientOptions,
  ConnectionState,
  StateChange,
  StateReason,
  SubscribeOptions,
  TokenSource,
  TransportName,
  UpdateInfo,
  WaitOptions,
  WatchOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './options.js'
export type { ClientFrame, JobError, JobEvent, JobStatus, ServerFrame, SubscribedData } from './protocol.js'
