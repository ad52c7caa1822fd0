/**
 * `--trust-proxy`: an `X-Forwarded-For` entry counts as the client only when it is an IP
 * address (a port a proxy appended is stripped). A value that is not an address falls back
 * to the TCP peer, so rotating ports or junk cannot buy a fresh per-IP bucket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSecurityHooks, type SecurityHooks } from '../../packages/gateway/src/admission/security-hooks.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { tryUpgrade } from './upgrade.js'

let gw: TestGateway
let hooks: SecurityHooks

beforeAll(async () => {
  hooks = createSecurityHooks({ maxConnectionsPerIp: 5, trustProxyHops: 1 })
  gw = await startGateway({ security: hooks })
})
afterAll(() => gw?.close())

/** Opens WebSockets with these `X-Forwarded-For` values; resolves with their statuses (101 = open). */
async function openAll(forwardedFor: readonly string[]): Promise<{ statuses: number[]; close(): Promise<void> }> {
  const attempts = await Promise.all(forwardedFor.map((value) => tryUpgrade(gw.wsUrl, { headers: { 'x-forwarded-for': value } })))
  const open = attempts.flatMap((a) => (a.ws ? [a.ws] : []))
  return {
    statuses: attempts.map((a) => a.status),
    close: async () => {
      await Promise.all(open.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close()))))
      await expect.poll(() => hooks.wsConnections.size).toBe(0)
    },
  }
}

describe('X-Forwarded-For behind a trusted proxy', () => {
  it('counts 203.0.113.7:40000, :40001, … as one client (5 of 8 sockets against a cap of 5)', async () => {
    const run = await openAll(Array.from({ length: 8 }, (_, i) => `203.0.113.7:${40_000 + i}`))
    expect(run.statuses.filter((s) => s === 101)).toHaveLength(5)
    expect(run.statuses.filter((s) => s === 429)).toHaveLength(3)
    expect(hooks.wsConnections.count('203.0.113.7')).toBe(5)
    await run.close()
  })

  it('counts a bracketed IPv6 with a port as its /64', async () => {
    const run = await openAll(Array.from({ length: 8 }, (_, i) => `[2001:db8::${i + 1}]:443`))
    expect(run.statuses.filter((s) => s === 101)).toHaveLength(5)
    expect(hooks.wsConnections.count('2001:db8:0:0::/64')).toBe(5)
    await run.close()
  })

  it('falls back to the TCP peer for values that are not addresses', async () => {
    const junk = ['junk-1', 'junk-2', '999.1.1.1', '203.0.113.7:99999', 'unknown', '1.2.3.4.5', '::ffff:zz', '"><script>']
    const run = await openAll(junk)
    expect(run.statuses.filter((s) => s === 101)).toHaveLength(5)
    expect(run.statuses.filter((s) => s === 429)).toHaveLength(3)
    expect(hooks.wsConnections.count('127.0.0.1')).toBe(5)
    await run.close()
  })
})
