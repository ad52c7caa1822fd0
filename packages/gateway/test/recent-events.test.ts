import { describe, expect, it } from 'vitest'
import type { BusEvent } from '../src/bus/bus.js'
import { isProgressAfter } from '../src/bus/publish-queue.js'
import { RecentEvents } from '../src/bus/recent-events.js'
import { mayRestore } from '../src/bus/restore.js'

function message(id: string, seq: number, status = 'active'): BusEvent {
  const json = `{"seq":${seq},"id":"${id}","status":"${status}","ts":1}`
  return { event: JSON.parse(json), json }
}

describe('RecentEvents', () => {
  it('keeps the last event per job, never an older one over a newer', () => {
    const recent = new RecentEvents({ windowMs: 1000, maxJobs: 10, now: () => 0 })
    recent.remember(message('a', 2))
    recent.remember(message('a', 1))
    recent.remember(message('b', 5))
    expect(recent.get('a')?.event.seq).toBe(2)
    expect(recent.live().map((m) => m.event.id)).toEqual(['a', 'b'])
  })

  it('forgets jobs older than the window, counted from their last remember', () => {
    let now = 0
    const recent = new RecentEvents({ windowMs: 1000, maxJobs: 10, now: () => now })
    recent.remember(message('a', 1))
    now = 600
    recent.remember(message('b', 1))
    now = 900
    recent.remember(message('a', 2))
    now = 1700
    expect(recent.get('b')).toBeUndefined()
    expect(recent.live().map((m) => m.event.id)).toEqual(['a'])
    expect(recent.size).toBe(1)
  })

  it('forgets the least recently remembered job beyond maxJobs, and keeps nothing at 0', () => {
    const recent = new RecentEvents({ windowMs: 1000, maxJobs: 2, now: () => 0 })
    for (const id of ['a', 'b', 'a', 'c']) recent.remember(message(id, 1))
    expect(recent.live().map((m) => m.event.id)).toEqual(['a', 'c'])
    const none = new RecentEvents({ windowMs: 0, maxJobs: 2 })
    none.remember(message('a', 1))
    expect(none.size).toBe(0)
  })
})

describe('the restore rule', () => {
  it('restores over nothing or an older non-terminal event only', () => {
    expect(mayRestore(null, message('a', 5).event)).toBe(true)
    expect(mayRestore(message('a', 4).event, message('a', 5).event)).toBe(true)
    expect(mayRestore(message('a', 5).event, message('a', 5).event)).toBe(false)
    expect(mayRestore(message('a', 6).event, message('a', 5).event)).toBe(false)
    expect(mayRestore(message('a', 4, 'failed').event, message('a', 5, 'completed').event)).toBe(false)
  })
})

describe('which waiting events merge', () => {
  it('only active after active: a status change is never merged away', () => {
    expect(isProgressAfter('active', 'active')).toBe(true)
    expect(isProgressAfter('active', 'queued')).toBe(false)
    expect(isProgressAfter('active', undefined)).toBe(false)
    expect(isProgressAfter('completed', 'active')).toBe(false)
    expect(isProgressAfter('queued', 'queued')).toBe(false)
  })
})
