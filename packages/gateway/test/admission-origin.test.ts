import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { clientIp } from '../src/admission/client-ip.js'
import { createConnectionCounter } from '../src/admission/connection-counter.js'
import { createAdmission, type AdmissionDecision, type AdmissionRequest } from '../src/admission/admission.js'
import { admissionMiddleware } from '../src/admission/http-admission.js'
import { createOriginPolicy } from '../src/admission/origin-policy.js'
import { readRequestOrigin } from '../src/admission/request-origin.js'

/** The WebSocket admission of an allow-list, with `maxPerIp` sockets per IP. */
function upgradeGuard(corsOrigins: string[], maxPerIp: number): (request: Omit<AdmissionRequest, 'kind'>) => AdmissionDecision {
  const admission = createAdmission({
    origins: createOriginPolicy(corsOrigins),
    wsConnections: createConnectionCounter({ maxPerIp }),
    sseConnections: createConnectionCounter({ maxPerIp: 0 }),
    polls: undefined,
    subscribes: undefined,
  })
  return (request) => admission.admit({ ...request, kind: 'websocket' })
}

/** Where a request was sent (Host header and scheme). */
const site = (host: string, scheme: 'http' | 'https' = 'http') => ({ host, scheme })

describe('origin policy', () => {
  const policy = createOriginPolicy(['https://app.example.com', 'http://localhost:5173, https://*.example.org'])

  it.each([
    ['https://app.example.com', true],
    ['https://APP.example.com', true],
    ['https://app.example.com:443', true],
    ['http://app.example.com', false],
    ['https://app.example.com:8443', false],
    ['https://app.example.com.evil.com', false],
    ['https://evilapp.example.com', false],
    ['http://localhost:5173', true],
    ['http://localhost:5174', false],
    ['https://a.example.org', true],
    ['https://a.b.example.org', true],
    ['https://example.org', false],
    ['https://evilexample.org', false],
    ['http://a.example.org', false],
    ['null', false],
    ['garbage', false],
    ['', false],
  ])('%j → %s', (origin, expected) => {
    expect(policy.allows(origin, site('gateway.example.net'))).toBe(expected)
  })

  it('lets requests without Origin through (non-browser clients) and same-origin pages', () => {
    expect(policy.allows(undefined)).toBe(true)
    expect(policy.allows('http://127.0.0.1:8080', site('127.0.0.1:8080'))).toBe(true)
    expect(policy.allows('http://127.0.0.1:8081', site('127.0.0.1:8080'))).toBe(false)
    expect(policy.allows('http://[::1]:8080', site('[::1]:8080'))).toBe(true)
    expect(policy.allows('http://[::1]:8081', site('[::1]:8080'))).toBe(false)
    expect(policy.allows('http://GW.example:8080', site('gw.EXAMPLE:8080'))).toBe(true)
  })

  it('compares the scheme, and reads a Host without a port as the scheme default port', () => {
    expect(policy.allows('https://127.0.0.1:8080', site('127.0.0.1:8080'))).toBe(false)
    expect(policy.allows('http://127.0.0.1:8080', site('127.0.0.1:8080', 'https'))).toBe(false)
    expect(policy.allows('http://127.0.0.1:8081', site('127.0.0.1'))).toBe(false)
    expect(policy.allows('http://127.0.0.1', site('127.0.0.1'))).toBe(true)
    expect(policy.allows('http://127.0.0.1:80', site('127.0.0.1'))).toBe(true)
    expect(policy.allows('https://gw.example', site('gw.example', 'https'))).toBe(true)
    expect(policy.allows('https://gw.example', site('gw.example:443', 'https'))).toBe(true)
    expect(policy.allows('https://gw.example:8443', site('gw.example', 'https'))).toBe(false)
    expect(policy.allows('http://evil.example:8081', site('127.0.0.1'))).toBe(false)
    // A Host that is not a host[:port] never matches.
    expect(policy.allows('http://gw.example', site('evil@gw.example'))).toBe(false)
    expect(policy.allows('http://gw.example', site('gw.example/x'))).toBe(false)
  })

  it('allows everything with *', () => {
    const any = createOriginPolicy(['*'])
    expect(any.any).toBe(true)
    expect(any.allows('https://whatever.test')).toBe(true)
    expect(any.allows('null')).toBe(true)
  })

  it('allows only same host with an empty list', () => {
    const none = createOriginPolicy([])
    expect(none.allows('https://app.example.com', site('gw:1'))).toBe(false)
    expect(none.allows('http://gw:1', site('gw:1'))).toBe(true)
  })

  it.each([['app.example.com'], ['https://app.example.com/path'], ['ftp://x.example.com'], ['https://*.com'], ['https://user@x.example.com']])(
    'refuses the malformed entry %j',
    (entry) => {
      expect(() => createOriginPolicy([entry])).toThrow(/\[jobcast\] --cors-origin/)
    },
  )
})

describe('request origin', () => {
  const from = (headers: Record<string, string>) => (name: string) => headers[name]

  it('takes the scheme from the connection, or from X-Forwarded-Proto only behind a trusted proxy', () => {
    const sent = { origin: 'https://gw.example', host: 'gw.example', 'x-forwarded-proto': 'https' }
    expect(readRequestOrigin(from(sent), false, 0)).toEqual({ origin: 'https://gw.example', host: 'gw.example', scheme: 'http' })
    expect(readRequestOrigin(from(sent), false, 1)).toEqual({ origin: 'https://gw.example', host: 'gw.example', scheme: 'https' })
    expect(readRequestOrigin(from(sent), true, 0).scheme).toBe('https')
    expect(readRequestOrigin(from({ ...sent, 'x-forwarded-proto': 'https, http' }), false, 1).scheme).toBe('http')
    expect(readRequestOrigin(from({ ...sent, 'x-forwarded-proto': 'gopher' }), true, 1).scheme).toBe('https')
    expect(readRequestOrigin(from({ host: 'gw.example' }), false, 0)).toEqual({ origin: undefined, host: undefined, scheme: 'http' })
  })
})

describe('CORS (HTTP admission middleware)', () => {
  const app = new Hono()
  const admission = createAdmission({
    origins: createOriginPolicy(['https://app.example.com']),
    wsConnections: createConnectionCounter({ maxPerIp: 0 }),
    sseConnections: createConnectionCounter({ maxPerIp: 0 }),
    polls: undefined,
    subscribes: undefined,
  })
  app.use('*', admissionMiddleware(admission))
  app.get('/v1/jobs/:id', (c) => c.json({ ok: true }, 200, { ETag: '"1"' }))

  it('answers a preflight for Authorization from an allowed origin', async () => {
    const res = await app.request('/v1/jobs/a', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
    expect(res.headers.get('access-control-allow-methods')).toContain('GET')
    expect(res.headers.get('access-control-allow-credentials')).toBeNull()
    expect(res.headers.get('vary')).toContain('Origin')
  })

  it('gives a foreign origin no CORS headers', async () => {
    const pre = await app.request('/v1/jobs/a', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    })
    expect(pre.headers.get('access-control-allow-origin')).toBeNull()
    const get = await app.request('/v1/jobs/a', { headers: { Origin: 'https://evil.example' } })
    expect(get.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('exposes ETag and Retry-After to allowed origins', async () => {
    const res = await app.request('/v1/jobs/a', { headers: { Origin: 'https://app.example.com' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(res.headers.get('access-control-expose-headers')).toBe('ETag,Retry-After')
  })
})

describe('client IP', () => {
  it('ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(clientIp('::ffff:10.0.0.1', '6.6.6.6')).toBe('10.0.0.1')
    expect(clientIp('10.0.0.1', '6.6.6.6, 1.2.3.4', 1)).toBe('1.2.3.4')
    expect(clientIp('10.0.0.1', 'spoofed, 1.2.3.4, 10.0.0.2', 2)).toBe('1.2.3.4')
    expect(clientIp('10.0.0.1', '1.2.3.4', 3)).toBe('10.0.0.1')
    expect(clientIp(undefined, undefined)).toBe('unknown')
  })

  it.each([
    ['203.0.113.7:40000', '203.0.113.7'],
    ['203.0.113.7', '203.0.113.7'],
    ['[2001:db8::1]:443', '2001:db8:0:0::/64'],
    ['[2001:db8::1]', '2001:db8:0:0::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:99999', '10.0.0.1'],
    ['[203.0.113.7]:80', '10.0.0.1'],
    ['2001:db8::1:443', '2001:db8:0:0::/64'],
    ['999.1.1.1', '10.0.0.1'],
    ['junk', '10.0.0.1'],
    ['unknown', '10.0.0.1'],
    ['1.2.3.4.5', '10.0.0.1'],
    ['', '10.0.0.1'],
  ])('with a trusted proxy, X-Forwarded-For %j counts as %j', (forwardedFor, expected) => {
    expect(clientIp('10.0.0.1', forwardedFor, 1)).toBe(expected)
  })

  it('counts an IPv6 client as its /64, so rotating addresses inside it cannot bypass per-IP limits', () => {
    expect(clientIp('2001:db8:1:2:aaaa::1', undefined)).toBe('2001:db8:1:2::/64')
    expect(clientIp('2001:0DB8:0001:0002:ffff:1:2:3', undefined)).toBe('2001:db8:1:2::/64')
    expect(clientIp('2001:db8:1:3::1', undefined)).toBe('2001:db8:1:3::/64')
    expect(clientIp('::1', undefined)).toBe('0:0:0:0::/64')
    expect(clientIp('fe80::1%eth0', undefined)).toBe('fe80:0:0:0::/64')
    expect(clientIp('10.0.0.1', '2001:db8:9:9::7', 1)).toBe('2001:db8:9:9::/64')
    expect(clientIp('::ffff:10.0.0.1', undefined)).toBe('10.0.0.1')
    // Not an address: kept as is (it is still one key, never a crash).
    expect(clientIp('1:2:3', undefined)).toBe('1:2:3')
    // Not an address in X-Forwarded-For: the TCP peer is counted.
    expect(clientIp('10.0.0.1', 'a::b::c', 1)).toBe('10.0.0.1')
    const guard = upgradeGuard([], 2)
    const from = (ip: string) => guard({ origin: undefined, host: 'gw', scheme: 'http', ip: clientIp(ip, undefined) })
    expect(from('2001:db8::1').ok).toBe(true)
    expect(from('2001:db8::2').ok).toBe(true)
    expect(from('2001:db8::3')).toMatchObject({ ok: false, code: 'too_many_connections' })
    expect(from('2001:db8:0:1::1').ok).toBe(true)
  })
})

describe('WebSocket admission', () => {
  const guard = upgradeGuard(['https://app.example.com'], 2)
  const req = (origin: string | undefined, ip = '1.2.3.4') => ({ origin, host: 'gw:80', scheme: 'http' as const, ip })

  it('refuses a foreign origin with 403 before counting it', () => {
    expect(guard(req('https://evil.example'))).toMatchObject({ ok: false, status: 403, code: 'forbidden' })
  })

  it('refuses the connection over the per-IP limit with 429, and admits again after release', () => {
    const a = guard(req('https://app.example.com'))
    const b = guard(req(undefined))
    expect(a.ok && b.ok).toBe(true)
    expect(guard(req('https://app.example.com'))).toMatchObject({ ok: false, status: 429, code: 'too_many_connections' })
    expect(guard(req(undefined, '5.6.7.8')).ok).toBe(true)
    if (a.ok) {
      a.release()
      a.release() // idempotent: must not free b's slot
    }
    expect(guard(req(undefined)).ok).toBe(true)
    expect(guard(req(undefined)).ok).toBe(false)
  })
})
