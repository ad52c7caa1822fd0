import { afterEach, describe, expect, it, vi } from 'vitest'
import { DroppedMessages } from '../src/bus/dropped-messages.js'
import { eventInputJson, normalizeEventInput, parseBusMessage, withSeq } from '../src/event.js'

describe('normalizeEventInput', () => {
  it('keeps known fields in wire order and defaults ts', () => {
    const out = normalizeEventInput({ ts: 7, data: { a: [] }, status: 'active', id: 'x', message: undefined }, 99)
    expect(JSON.stringify(out)).toBe('{"id":"x","status":"active","data":{"a":[]},"ts":7}')
    expect(normalizeEventInput({ id: 'x', status: 'queued' }, 99).ts).toBe(99)
  })

  it.each([
    [null, 'invalid_event'],
    [{ id: '', status: 'queued' }, 'invalid_job_id'],
    [{ id: 'a{b}', status: 'queued' }, 'invalid_job_id'],
    [{ id: 'ok', status: 'QUEUED' }, 'invalid_event'],
    [{ id: 'ok', status: 'active', progress: Number.NaN }, 'invalid_event'],
    [{ id: 'ok', status: 'active', progress: -1 }, 'invalid_event'],
    [{ id: 'ok', status: 'active', message: 3 }, 'invalid_event'],
    [{ id: 'ok', status: 'completed', result: new Date() }, 'invalid_event'],
    [{ id: 'ok', status: 'failed', error: { code: 'x' } }, 'invalid_event'],
    [{ id: 'ok', status: 'failed', error: { message: 'm', code: 1 } }, 'invalid_event'],
    [{ id: 'ok', status: 'active', ts: '1' }, 'invalid_event'],
    [{ id: 'ok', status: 'active', extra: 1 }, 'invalid_event'],
    [{ id: 'ok', status: 'failed', error: { message: 'm', stack: 's' } }, 'invalid_event'],
  ])('rejects %j with %s', (input, code) => {
    expect(() => normalizeEventInput(input)).toThrowError(expect.objectContaining({ name: 'ValidationError', code }))
  })

  it('refuses events that cannot be serialized', () => {
    const data: Record<string, unknown> = {}
    data.self = data
    expect(() => eventInputJson(normalizeEventInput({ id: 'c', status: 'active', data }))).toThrowError(
      expect.objectContaining({ code: 'invalid_event' }),
    )
  })
})

describe('parseBusMessage', () => {
  const drops = new DroppedMessages({ log: () => {} })
  const good = withSeq(1764287374123456, '{"id":"j","status":"failed","error":{"message":"m"},"ts":1}')

  it('parses a stored event and keeps its text', () => {
    expect(good).toBe('{"seq":1764287374123456,"id":"j","status":"failed","error":{"message":"m"},"ts":1}')
    expect(parseBusMessage(good, 'j')).toEqual({ event: JSON.parse(good), json: good })
  })

  it.each([
    ['not json'],
    ['[1]'],
    ['{"seq":0,"id":"j","status":"queued","ts":1}'],
    ['{"seq":1.5,"id":"j","status":"queued","ts":1}'],
    ['{"seq":1,"id":"j","status":"nope","ts":1}'],
    ['{"seq":1,"id":"j","status":"queued"}'],
    ['{"seq":1,"id":"j","status":"queued","ts":1,"data":[]}'],
    ['{"seq":1,"id":"j","status":"queued","ts":1,"progress":500}'],
    ['{"seq":1,"id":"other","status":"queued","ts":1}'],
  ])('returns null for %s', (json) => {
    expect(parseBusMessage(json, 'j', undefined, drops)).toBeNull()
  })

  it('returns null for oversized messages, counting UTF-8 bytes', () => {
    const text = `{"seq":1,"id":"j","status":"queued","ts":1,"message":"${'é'.repeat(60)}"}`
    expect(parseBusMessage(text, 'j', 150, drops)).toBeNull()
    expect(parseBusMessage(text, 'j', 200)).not.toBeNull()
  })
})

describe('parseBusMessage, canonical output and drop reports', () => {
  const quiet = () => new DroppedMessages({ log: () => {} })

  it('forwards its own JSON of the known fields, never the original text', () => {
    const drops = quiet()
    const stored = '{"seq":5,"ts":1,"status":"active",  "id":"other","id":"j","progress":40,"colour":"red"}'
    const message = parseBusMessage(stored, 'j', undefined, drops)
    expect(message?.json).toBe('{"seq":5,"id":"j","status":"active","progress":40,"ts":1}')
    expect(message?.event).toEqual({ seq: 5, id: 'j', status: 'active', progress: 40, ts: 1 })
    expect(drops.total).toBe(0)
  })

  it('counts every dropped message by reason', () => {
    const drops = quiet()
    const inputs = ['nope', '[1]', '{"seq":1,"id":"x","status":"queued","ts":1}', '{"seq":1,"id":"j","status":"running","ts":1}', '{"seq":1,"id":"j","status":"active","progress":"40","ts":1}', '{"seq":1,"id":"j","status":"active","progress":"40","ts":1}']
    for (const json of inputs) expect(parseBusMessage(json, 'j', undefined, drops)).toBeNull()
    expect(parseBusMessage('x'.repeat(100), 'j', 50, drops)).toBeNull()
    expect(Object.fromEntries(drops.byReason)).toEqual({ not_json: 1, not_object: 1, wrong_job: 1, bad_status: 1, bad_progress: 2, too_large: 1 })
    expect(drops.total).toBe(7)
  })
})

describe('DroppedMessages', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('logs at most one line per reason per window, then the count of the rest', () => {
    vi.useFakeTimers()
    const lines: string[] = []
    const drops = new DroppedMessages({ windowMs: 10_000, log: (line) => lines.push(line) })
    drops.record('bad_progress', 'progress must be a number 0–100', 'a')
    drops.record('bad_progress', 'progress must be a number 0–100', 'b')
    drops.record('bad_progress', 'progress must be a number 0–100', 'c')
    drops.record('bad_status', 'status must be one of …', 'd')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^\[jobcast\] dropped a bus message of job a \(bad_progress\): progress must be a number 0–100; fix its producer/)
    vi.advanceTimersByTime(10_000)
    expect(lines).toHaveLength(3)
    expect(lines[2]).toBe('[jobcast] dropped 2 more bus messages (bad_progress) in the last 10 s, the last of job c: progress must be a number 0–100')
    drops.record('bad_progress', 'progress must be a number 0–100', 'e')
    expect(lines).toHaveLength(3)
    vi.advanceTimersByTime(10_000)
    expect(lines).toHaveLength(4)
    vi.advanceTimersByTime(10_000)
    drops.record('bad_progress', 'progress must be a number 0–100', 'f')
    expect(lines).toHaveLength(5)
    expect(drops.byReason.get('bad_progress')).toBe(5)
    drops.close()
  })
})
