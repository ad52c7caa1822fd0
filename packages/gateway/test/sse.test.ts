import { describe, expect, it } from 'vitest'
import type { BusEvent } from '../src/bus/bus.js'
import { multiJobDataPart, singleJobFrame } from '../src/sse/sse-stream.js'
import { SSE_OPEN, SSE_PING, formatSeq, parseCursor, parseSeqCursor, sseMessage, sseNamed, sseRetry } from '../src/sse/frames.js'

describe('SSE framing', () => {
  it('writes the fixed frames byte for byte', () => {
    expect(SSE_OPEN).toBe(': ok\n\n')
    expect(SSE_PING).toBe(': ping\n\n')
    expect(sseRetry(2000)).toBe('retry: 2000\n\n')
    expect(sseRetry(12.7)).toBe('retry: 12\n\n')
  })

  it('frames named events and messages on one data line', () => {
    expect(sseNamed('subscribed', { id: 'a', exists: false })).toBe('event: subscribed\ndata: {"id":"a","exists":false}\n\n')
    expect(sseNamed('error', { code: 'token_expired', message: 'x\ny' })).toBe('event: error\ndata: {"code":"token_expired","message":"x\\ny"}\n\n')
    expect(sseMessage('1764287374123456', '{"seq":1764287374123456}')).toBe('id: 1764287374123456\ndata: {"seq":1764287374123456}\n\n')
  })

  it('prints seqs without exponent', () => {
    expect(formatSeq(1764287374123456)).toBe('1764287374123456')
    expect(formatSeq(9007199254740991)).toBe('9007199254740991')
  })
})

describe('single-job cursor', () => {
  it.each([
    [undefined, 0],
    [null, 0],
    ['', 0],
    ['  ', 0],
    ['0', 0],
    ['1764287374123456', 1764287374123456],
    [' 42 ', 42],
  ])('parses %j as %j', (raw, seq) => expect(parseSeqCursor(raw)).toBe(seq))

  it.each(['-1', '1.5', 'abc', '1e6', '12345678901234567890', '1,2'])('rejects %j', (raw) => expect(parseSeqCursor(raw)).toBeNull())
})

describe('multi-job cursor', () => {
  it('reads one entry per job in query order, 0 for nothing yet', () => {
    expect(parseCursor('1764287374123456,0,1764287374200000', 3)).toEqual([1764287374123456, 0, 1764287374200000])
  })

  it('treats an absent cursor as all zeros', () => {
    expect(parseCursor(null, 3)).toEqual([0, 0, 0])
    expect(parseCursor('', 2)).toEqual([0, 0])
  })

  it.each([
    ['1,2', 3],
    ['1,2,3,4', 3],
    ['1,,3', 3],
    ['1,x,3', 3],
    ['1,-2,3', 3],
  ])('rejects %j for %i jobs', (raw, count) => expect(parseCursor(raw, count)).toBeNull())
})

describe('SSE job frames', () => {
  it('carry the seq as id and the published JSON as data', () => {
    const json = '{"seq":1764287374123456,"id":"a","status":"active","ts":1}'
    const message: BusEvent = { event: JSON.parse(json) as BusEvent['event'], json }
    expect(singleJobFrame(message)).toBe(`id: 1764287374123456\ndata: ${json}\n\n`)
    expect(multiJobDataPart(message)).toBe(`data: ${json}\n\n`)
  })
})
