import { describe, expect, it } from 'vitest'
import { planFaults, planJobs, PLANNED_FAILURE_CODE, type PlannedJob } from './plan.mjs'
import { classifyJob, judgeRun, regressionOf, type ClientRecord, type Update, type WorkerRecord } from './verdict.mjs'

const job = (overrides: Partial<PlannedJob> = {}): PlannedJob => ({
  index: 0,
  id: 'chaos-x-0',
  transport: 'websocket',
  early: true,
  fails: false,
  startAt: 0,
  waitAt: -100,
  steps: [],
  ...overrides,
})
const worker: WorkerRecord = { id: 'chaos-x-0', terminalAt: 1_000, gaveUp: false, log: [] }
const update = (seq: number, status: string, progress?: number): Update => ({ at: seq, seq, status, progress, transport: 'websocket' })
const client = (outcome: ClientRecord['outcome'], updates: Update[] = []): ClientRecord => ({
  id: 'chaos-x-0',
  waitedAt: 900,
  settledAt: outcome ? 1_003 : undefined,
  outcome,
  updates,
  wireAnomaly: undefined,
})
const rejected = (name: string, code: string, extra: object = {}) => ({ kind: 'rejected' as const, name, code, message: `[jobcast] ${code}`, ...extra })

describe('classifyJob', () => {
  it('accepts a completed job whose result names it, and a planned failure', () => {
    expect(classifyJob(job(), worker, client({ kind: 'completed', result: { jobId: 'chaos-x-0' } })).verdict).toBe('ok')
    expect(classifyJob(job({ fails: true }), worker, client(rejected('JobFailedError', 'job_failed', { status: 'failed', errorCode: PLANNED_FAILURE_CODE }))).verdict).toBe('ok')
  })

  it('calls a wait that never settled or hit its deadline lost', () => {
    expect(classifyJob(job(), worker, undefined).verdict).toBe('lost')
    expect(classifyJob(job(), worker, client(undefined)).verdict).toBe('lost')
    expect(classifyJob(job(), worker, client(rejected('JobTimeoutError', 'job_timeout'))).verdict).toBe('lost')
  })

  it('calls any other end wrong: an error, another status, another job’s result', () => {
    expect(classifyJob(job(), worker, client(rejected('JobcastClientError', 'bus_unavailable'))).verdict).toBe('wrong')
    expect(classifyJob(job(), worker, client(rejected('JobNotFoundError', 'job_not_found'))).verdict).toBe('wrong')
    expect(classifyJob(job(), worker, client({ kind: 'completed', result: { jobId: 'chaos-x-1' } })).verdict).toBe('wrong')
    expect(classifyJob(job({ fails: true }), worker, client({ kind: 'completed', result: { jobId: 'chaos-x-0' } })).verdict).toBe('wrong')
  })

  it('calls a job the worker could not end unpublished, whatever the page saw', () => {
    expect(classifyJob(job(), { ...worker, gaveUp: true, terminalAt: undefined }, undefined).verdict).toBe('unpublished')
  })
})

describe('regressionOf', () => {
  it('passes increasing seqs with rising progress', () => {
    expect(regressionOf([update(1, 'queued'), update(5, 'active', 20), update(9, 'active', 40), update(12, 'completed', 100)])).toBeUndefined()
  })

  it('finds a duplicate seq, an older seq, a progress or a status going back', () => {
    expect(regressionOf([update(5, 'active', 20), update(5, 'active', 20)])).toBe('duplicate seq 5')
    expect(regressionOf([update(5, 'active', 20), update(4, 'active', 40)])).toBe('seq 4 after 5')
    expect(regressionOf([update(5, 'active', 40), update(6, 'active', 20)])).toBe('progress 20 after 40')
    expect(regressionOf([update(5, 'active', 40), update(6, 'queued')])).toBe('queued after active')
  })
})

describe('judgeRun', () => {
  it('sums up a run in one line and fails it on any bad job, with its timeline', () => {
    const plan = [job(), job({ index: 1, id: 'chaos-x-1', transport: 'polling' })]
    const verdict = judgeRun({
      plan,
      workers: new Map([
        ['chaos-x-0', worker],
        ['chaos-x-1', { ...worker, id: 'chaos-x-1', log: [[1_000, 'completed published seq 7']] }],
      ]),
      clients: new Map([['chaos-x-0', client({ kind: 'completed', result: { jobId: 'chaos-x-0' } }, [update(7, 'completed', 100)])]]),
      faults: [{ kind: 'redis', at: 999, text: 'redis SIGKILLed, back empty after 1.20 s' }],
      cuts: 3,
      startedAt: 0,
      seed: 42,
    })
    expect(verdict.failed).toBe(true)
    expect(verdict.summary).not.toContain('\n')
    expect(verdict.summary).toContain('chaos FAIL: 2 jobs · faults: redis kills 1, gateway kills 0, cuts 3 · lost 1 · wrong 0 · regressions 0')
    expect(verdict.summary).toContain('websocket 1: lost 0 wrong 0 regr 0 p50 3 ms p99 3 ms')
    expect(verdict.summary).toContain('polling 1: lost 1')
    expect(verdict.summary).toContain('seed 42')
    expect(verdict.examples).toHaveLength(1)
    expect(verdict.examples[0]).toContain('chaos-x-1 — lost: never settled')
    expect(verdict.examples[0]).toContain('fault redis SIGKILLed')
  })
})

describe('plan', () => {
  it('gives each transport and each wait side an equal share, and one job in ten or so a failure', () => {
    const plan = planJobs({ jobs: 800, durationMs: 30_000, seed: 3 })
    for (const transport of ['websocket', 'sse', 'polling', 'default']) {
      expect(plan.filter((j) => j.transport === transport && j.early)).toHaveLength(100)
      expect(plan.filter((j) => j.transport === transport && !j.early)).toHaveLength(100)
    }
    expect(plan.filter((j) => j.fails).length).toBeGreaterThan(50)
    expect(plan.filter((j) => j.fails).length).toBeLessThan(110)
    expect(planJobs({ jobs: 800, durationMs: 30_000, seed: 3 })).toEqual(plan)
  })

  it('spreads the faults over the middle of the run and alternates the gateways', () => {
    const faults = planFaults({ durationMs: 100_000, redisKills: 2, gatewayKills: 3, seed: 1 })
    expect(faults.map((f) => f.kind)).toEqual(['redis', 'gateway', 'redis', 'gateway', 'gateway'])
    expect(faults.filter((f) => f.kind === 'gateway').map((f) => f.kind === 'gateway' && f.gateway)).toEqual([0, 1, 0])
    for (const fault of faults) expect(fault.at).toBeGreaterThanOrEqual(10_000)
    for (const fault of faults) expect(fault.at).toBeLessThan(75_000)
  })
})

describe('judgeRun, beneath the client', () => {
  it('counts an out-of-order seq on the wire as a regression even when the page settled right', () => {
    const page = { ...client({ kind: 'completed', result: { jobId: 'chaos-x-0' } }), wireAnomaly: 'websocket sent seq 5 after 5 on one connection' }
    const verdict = judgeRun({ plan: [job()], workers: new Map([['chaos-x-0', worker]]), clients: new Map([['chaos-x-0', page]]), faults: [], cuts: 0, startedAt: 0, seed: 1 })
    expect(verdict.failed).toBe(true)
    expect(verdict.total.regressions).toBe(1)
    expect(verdict.examples[0]).toContain('regression: websocket sent seq 5 after 5 on one connection')
  })
})

describe('judgeRun, causes', () => {
  it('counts failures by cause, commonest first, with their transports', () => {
    const plan = [0, 1, 2].map((index) => job({ index, id: `chaos-x-${index}`, transport: index === 2 ? 'default' : 'websocket', early: index !== 1 }))
    const unavailable = (id: string) => ({ ...client(rejected('JobcastClientError', 'bus_unavailable')), id })
    const verdict = judgeRun({
      plan,
      workers: new Map(plan.map((j) => [j.id, { ...worker, id: j.id }])),
      clients: new Map([
        ['chaos-x-0', unavailable('chaos-x-0')],
        ['chaos-x-1', unavailable('chaos-x-1')],
        ['chaos-x-2', { ...client(rejected('JobTimeoutError', 'job_timeout', { status: 'active' })), id: 'chaos-x-2' }],
      ]),
      faults: [],
      cuts: 0,
      startedAt: 0,
      seed: 1,
    })
    expect(verdict.causes).toEqual([
      '     2 × wrong: expected completed, got JobcastClientError bus_unavailable (websocket early 1, websocket late 1)',
      '     1 × lost: timed out at active (default early 1)',
    ])
  })
})
