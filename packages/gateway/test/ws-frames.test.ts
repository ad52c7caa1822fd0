import { describe, expect, it } from 'vitest'
import { errorFrame, jobFrame, parseClientFrame, subscribedFrame, unsubscribedFrame } from '../src/ws/frames.js'

describe('parseClientFrame', () => {
  it('accepts the three client frames', () => {
    expect(parseClientFrame('{"type":"subscribe","id":"export-42"}')).toEqual({ ok: true, frame: { type: 'subscribe', id: 'export-42', since: 0, token: undefined } })
    expect(parseClientFrame('{"type":"subscribe","id":"a","since":1764287374123456,"token":"t"}')).toEqual({
      ok: true,
      frame: { type: 'subscribe', id: 'a', since: 1764287374123456, token: 't' },
    })
    expect(parseClientFrame('{"type":"unsubscribe","id":"a"}')).toEqual({ ok: true, frame: { type: 'unsubscribe', id: 'a' } })
    expect(parseClientFrame('{"type":"ping"}')).toEqual({ ok: true, frame: { type: 'ping' } })
  })

  it.each([
    ['not json', 'bad_frame'],
    ['{"type":', 'bad_frame'],
    ['[]', 'bad_frame'],
    ['null', 'bad_frame'],
    ['42', 'bad_frame'],
    ['{"type":"subscribe"}', 'invalid_job_id'],
    ['{"type":"subscribe","id":"a b"}', 'invalid_job_id'],
    ['{"type":"subscribe","id":"{x}"}', 'invalid_job_id'],
    [`{"type":"subscribe","id":"${'a'.repeat(129)}"}`, 'invalid_job_id'],
    ['{"type":"subscribe","id":"a","since":-1}', 'bad_cursor'],
    ['{"type":"subscribe","id":"a","since":"5"}', 'bad_cursor'],
    ['{"type":"subscribe","id":"a","since":1.5}', 'bad_cursor'],
    ['{"type":"subscribe","id":"a","token":5}', 'bad_frame'],
    ['{"type":"launch"}', 'bad_frame'],
    ['{}', 'bad_frame'],
  ])('rejects %s with %s', (text, code) => {
    const parsed = parseClientFrame(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) {
      expect(parsed.code).toBe(code)
      expect(parsed.message).toMatch(/^\[jobcast\] /)
    }
  })

  it('echoes a bad id only when it is short enough to be useful', () => {
    const parsed = parseClientFrame('{"type":"subscribe","id":"a b"}')
    expect(!parsed.ok && parsed.id).toBe('a b')
    const long = parseClientFrame(`{"type":"subscribe","id":"${'x '.repeat(200)}"}`)
    expect(!long.ok && long.id).toBeUndefined()
  })
})

describe('server frames', () => {
  it('are exact JSON', () => {
    expect(subscribedFrame('a', true)).toBe('{"type":"subscribed","id":"a","exists":true}')
    expect(unsubscribedFrame('a')).toBe('{"type":"unsubscribed","id":"a"}')
    // Every character the id grammar allows survives as valid JSON.
    const id = 'AZaz09._:@-'
    expect(JSON.parse(subscribedFrame(id, false))).toEqual({ type: 'subscribed', id, exists: false })
    expect(JSON.parse(unsubscribedFrame(id))).toEqual({ type: 'unsubscribed', id })
    expect(errorFrame('bad_frame', 'm')).toBe('{"type":"error","code":"bad_frame","message":"m"}')
    expect(errorFrame('forbidden', 'm', 'a')).toBe('{"type":"error","id":"a","code":"forbidden","message":"m"}')
  })

  it('builds a job frame once per event and shares it', () => {
    const message = { event: { id: 'a', seq: 5, status: 'active' as const, ts: 1 }, json: '{"seq":5,"id":"a","status":"active","ts":1,"data":[]}' }
    const frame = jobFrame(message)
    expect(frame.toString()).toBe('{"type":"job","job":{"seq":5,"id":"a","status":"active","ts":1,"data":[]}}')
    expect(jobFrame(message)).toBe(frame)
  })
})
