/**
 * The BullMQ stream mapping, as pure fixtures. The entries are what BullMQ's scripts wrote for
 * a real queue (a job returning 7, one failing twice with attempts: 2, one returning nothing).
 */
import { describe, expect, it } from 'vitest'
import { bridgedJobId, bullmqJobIdFunction } from '../src/bullmq/job-id.js'
import { mapBullmqEntry, parseAttempts, wantsAttempts, type BullmqStreamEntry } from '../src/bullmq/map-event.js'
import { compareStreamIds, streamIdTime } from '../src/bullmq/stream-id.js'

const entry = (id: string, ...pairs: string[]): BullmqStreamEntry => {
  const fields: Record<string, string> = {}
  for (let index = 0; index < pairs.length; index += 2) fields[pairs[index]!] = pairs[index + 1]!
  return { id, fields }
}

describe('mapBullmqEntry', () => {
  it.each([
    ['waiting', entry('1796108861617-1', 'event', 'waiting', 'jobId', '1'), { status: 'queued' }],
    ['active', entry('1796108861620-2', 'event', 'active', 'jobId', '1', 'prev', 'waiting'), { status: 'active' }],
    ['a number of progress', entry('1796108861622-0', 'event', 'progress', 'jobId', '1', 'data', '40'), { status: 'active', progress: 40 }],
    [
      'an object of progress',
      entry('1796108861622-1', 'event', 'progress', 'jobId', '1', 'data', '{"progress":60,"message":"hi","rows":3}'),
      { status: 'active', progress: 60, message: 'hi', data: { rows: 3 } },
    ],
    ['progress out of range', entry('5-0', 'event', 'progress', 'jobId', '1', 'data', '250'), { status: 'active', data: { progress: 250 } }],
    ['progress as text', entry('5-0', 'event', 'progress', 'jobId', '1', 'data', '"half"'), { status: 'active', data: { progress: 'half' } }],
    [
      'an object with a bad progress and message',
      entry('5-0', 'event', 'progress', 'jobId', '1', 'data', '{"progress":"x","message":4}'),
      { status: 'active', data: { progress: 'x', message: 4 } },
    ],
    [
      'completed with a number',
      entry('1796108861624-0', 'event', 'completed', 'jobId', '1', 'returnvalue', '7', 'prev', 'active'),
      { status: 'completed', progress: 100, result: { value: 7 } },
    ],
    [
      'completed with an object',
      entry('9-0', 'event', 'completed', 'jobId', '1', 'returnvalue', '{"url":"/f.csv"}', 'prev', 'active'),
      { status: 'completed', progress: 100, result: { url: '/f.csv' } },
    ],
    ['completed with an array', entry('9-0', 'event', 'completed', 'jobId', '1', 'returnvalue', '[1,2]'), { status: 'completed', progress: 100, result: { value: [1, 2] } }],
    ['completed with nothing', entry('1796108861630-3', 'event', 'completed', 'jobId', '3', 'returnvalue', 'null', 'prev', 'active'), { status: 'completed', progress: 100 }],
    [
      'failed',
      entry('1796108861632-0', 'event', 'failed', 'jobId', '2', 'failedReason', 'boom 1', 'prev', 'active'),
      { status: 'failed', error: { message: 'boom 1' } },
    ],
    ['failed without a reason', entry('9-0', 'event', 'failed', 'jobId', '2'), { status: 'failed', error: { message: 'the job failed (BullMQ gave no reason)' } }],
    ['removed while waiting', entry('9-0', 'event', 'removed', 'jobId', '2', 'prev', 'wait'), { status: 'cancelled' }],
    ['stalled', entry('9-0', 'event', 'stalled', 'jobId', '2'), { status: 'active', data: { stalled: true } }],
    ['delayed', entry('9-0', 'event', 'delayed', 'jobId', '2', 'delay', '1796108862000'), { status: 'queued', data: { delayedUntil: 1796108862000 } }],
    ['waiting for children', entry('9-0', 'event', 'waiting-children', 'jobId', '2', 'prev', 'active'), { status: 'queued', data: { waitingChildren: true } }],
  ])('%s', (_, streamEntry, event) => {
    expect(mapBullmqEntry(streamEntry)).toEqual({ bullmqId: streamEntry.fields.jobId, event: { ...event, ts: streamIdTime(streamEntry.id) } })
  })

  it.each([
    ['added (always followed by waiting, delayed or waiting-children)', entry('1-0', 'event', 'added', 'jobId', '1', 'name', 'x')],
    ['retries-exhausted (after its failed)', entry('1-0', 'event', 'retries-exhausted', 'jobId', '2', 'attemptsMade', '2')],
    ['drained (no job)', entry('1-0', 'event', 'drained')],
    ['removed after completing', entry('1-0', 'event', 'removed', 'jobId', '2', 'prev', 'completed')],
    ['an event jobcast does not know', entry('1-0', 'event', 'deduplicated', 'jobId', '2')],
  ])('ignores %s', (_, streamEntry) => {
    expect(mapBullmqEntry(streamEntry)).toBeNull()
  })

  it('a retried attempt is queued again with its attempts', () => {
    const retry = entry('1796108861629-0', 'event', 'waiting', 'jobId', '2', 'prev', 'active')
    expect(wantsAttempts(retry)).toBe(true)
    expect(wantsAttempts(entry('1-0', 'event', 'waiting', 'jobId', '2'))).toBe(false)
    expect(mapBullmqEntry(retry, parseAttempts('1', '{"attempts":2}'))?.event).toEqual({ status: 'queued', data: { attemptsMade: 1, attempts: 2 }, ts: 1796108861629 })
    // Back to waiting without an attempt made: a stalled job, not a retry.
    expect(mapBullmqEntry(retry, parseAttempts('0', '{}'))?.event).toEqual({ status: 'queued', ts: 1796108861629 })
  })

  it('reads attempts from the job hash fields, or none when the job is gone', () => {
    expect(parseAttempts('3', '{"attempts":5,"backoff":1000}')).toEqual({ attemptsMade: 3, attempts: 5 })
    expect(parseAttempts('1', 'not json')).toEqual({ attemptsMade: 1 })
    expect(parseAttempts(null, null)).toBeUndefined()
  })
})

describe('stream ids', () => {
  it('orders ids as Redis does, past the safe integer range of the sequence', () => {
    expect(compareStreamIds('1-2', '1-10')).toBeLessThan(0)
    expect(compareStreamIds('2-0', '1-99')).toBeGreaterThan(0)
    expect(compareStreamIds('5-18446744073709551615', '5-18446744073709551614')).toBeGreaterThan(0)
    expect(compareStreamIds('7-1', '7-1')).toBe(0)
  })

  it('gives the time of an id as the event ts', () => {
    expect(streamIdTime('1796108861629-3')).toBe(1796108861629)
    expect(streamIdTime('oops')).toBe(0)
  })
})

describe('job ids', () => {
  it('is <queue>:<id> by default, a template or a function otherwise', () => {
    expect(bridgedJobId(bullmqJobIdFunction(), 'emails', '42')).toEqual({ id: 'emails:42' })
    expect(bridgedJobId(bullmqJobIdFunction('bull-{queue}-{id}'), 'emails', '42')).toEqual({ id: 'bull-emails-42' })
    expect(bridgedJobId(bullmqJobIdFunction((queue, id) => `${id}@${queue}`), 'emails', '42')).toEqual({ id: '42@emails' })
  })

  it('says why a job has no valid jobcast id', () => {
    expect(bridgedJobId(bullmqJobIdFunction(), 'emails', 'a b')).toMatchObject({ problem: expect.stringContaining('not a valid jobcast id') })
    expect(
      bridgedJobId(
        bullmqJobIdFunction(() => {
          throw new Error('no')
        }),
        'emails',
        '1',
      ),
    ).toMatchObject({ problem: expect.stringContaining('threw') })
  })

  it('refuses a template without {id}', () => {
    expect(() => bullmqJobIdFunction('{queue}')).toThrow(expect.objectContaining({ code: 'invalid_config', message: expect.stringMatching(/^\[jobcast\] .*\{id\}/) }))
  })
})
