/**
 * Which jobcast job id a BullMQ job gets: the id pages pass to `waitForJob`. The default,
 * `<queue>:<bullmq id>`, keeps two queues' job `42` apart.
 */
import { JobcastError } from '../errors.js'
import { isValidJobId } from '../protocol.js'

/** Builds the jobcast job id of BullMQ job `bullmqId` of `queue`. */
export type BullmqJobIdFunction = (queue: string, bullmqId: string) => string

/**
 * A template where `{queue}` and `{id}` stand for the queue name and the BullMQ job id, or a
 * function. The result must be a valid jobcast id (1–128 characters of `[A-Za-z0-9._:@-]`).
 */
export type BullmqJobId = string | BullmqJobIdFunction

/** The default {@link BullmqJobId} template. */
export const DEFAULT_BULLMQ_JOB_ID = '{queue}:{id}'

/**
 * The function behind a {@link BullmqJobId} option. A template must contain `{id}`, or every
 * job of a queue would share one id.
 * @throws JobcastError `invalid_config` for a template without `{id}`
 */
export function bullmqJobIdFunction(option: BullmqJobId = DEFAULT_BULLMQ_JOB_ID): BullmqJobIdFunction {
  if (typeof option === 'function') return option
  if (typeof option !== 'string' || !option.includes('{id}')) {
    throw new JobcastError('invalid_config', `the BullMQ job id template ${JSON.stringify(option)} has no {id}: use e.g. "${DEFAULT_BULLMQ_JOB_ID}"`)
  }
  return (queue, bullmqId) => option.replaceAll('{queue}', queue).replaceAll('{id}', bullmqId)
}

/**
 * The jobcast id of a BullMQ job, or a message saying why there is none (the mapping threw or
 * built an invalid id), for the bridge to log.
 */
export function bridgedJobId(toJobId: BullmqJobIdFunction, queue: string, bullmqId: string): { id: string } | { problem: string } {
  let id: unknown
  try {
    id = toJobId(queue, bullmqId)
  } catch (error) {
    return { problem: `the jobId function threw for BullMQ job ${JSON.stringify(bullmqId)} of queue ${queue}: ${error instanceof Error ? error.message : String(error)}` }
  }
  if (isValidJobId(id)) return { id }
  const shown = typeof id === 'string' ? JSON.stringify(id) : typeof id
  return {
    problem: `BullMQ job ${JSON.stringify(bullmqId)} of queue ${queue} maps to ${shown}, not a valid jobcast id (1–128 characters of [A-Za-z0-9._:@-]): its events are not published. Give such jobs other ids, or set the bridge's jobId option`,
  }
}
