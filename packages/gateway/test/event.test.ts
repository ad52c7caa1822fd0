import { describe, expect, it } from 'vitest'
import { eventInputJson, normalizeEventInput, parseBusMessage, SeqGate, withSeq } from '../src/event.js'

describe('normalizeEventInput', () => {
  it('keeps known fields in wire order and defaults ts', () => {
    const out = normalizeEventInput({ ts: 7, data: { a: [] }, status: 'active', id: 'x', extra: 1 }, 99)
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
    expect(parseBusMessage(json, 'j')).toBeNull()
  })

  it('returns null for oversized messages, counting UTF-8 bytes', () => {
    const text = `{"seq":1,"id":"j","status":"queued","ts":1,"message":"${'é'.repeat(60)}"}`
    expect(parseBusMessage(text, 'j', 150)).toBeNull()
    expect(parseBusMessage(text, 'j', 200)).not.toBeNull()
  })
})

describe('SeqGate', () => {
  it('passes each seq once, in increasing order, after the cursor', () => {
    const gate = new SeqGate(10)
    expect([5, 10, 11, 11, 20, 15, 21].map((s) => gate.accept(s))).toEqual([false, false, true, false, true, false, true])
    expect(gate.last).toBe(21)
  })
})
