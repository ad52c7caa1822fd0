/** Entry of the `<script>` bundle (`window.Jobcast`): the package minus the `is*Error` guards, to fit 5 KB. */
export { createClient, isTerminal } from './client.js'
export { waitForJob } from './wait-for-job.js'
export { AuthError, JobCancelledError, JobFailedError, JobNotFoundError, JobTimeoutError, JobcastClientError } from './errors.js'
