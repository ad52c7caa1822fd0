import type { JobEvent } from './protocol.js'

/** Is this the job's last event (`completed`, `failed` or `cancelled`)? */
export const isTerminal = (job: Pick<JobEvent, 'status'>): boolean => /^(completed|failed|cancelled)$/.test(job.status)
