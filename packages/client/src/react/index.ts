/**
 * `@jobcast/client/react`: `useJob(id, options)`. React is an optional peer dependency of
 * `@jobcast/client`; only this entry imports it.
 */
export { useJob } from './use-job.js'
export type { UseJobOptions, UseJobResult } from './use-job.js'
export type { JobSubscriber } from '../element/client-cache.js'
