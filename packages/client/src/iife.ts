/**
 * Entry of the `<script>` bundle (`window.Jobcast`): the package minus the `is*Error` guards and
 * `isTerminal`, to fit 5 KB (in one page `instanceof` and `error.name` do the same).
 */
export { createClient } from './client.js'
export { waitForJob } from './wait-for-job.js'
export { AuthError, GatewayError, JobCancelledError, JobFailedError, JobLostError, JobNotFoundError, JobTimeoutError, JobcastClientError } from './errors.js'
