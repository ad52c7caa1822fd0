/** Self-test of test/support/redis-sentinel.ts: the sentinel group the scale tests rely on behaves as they assume. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisCli } from '../support/redis-topology.js'
import { roleOf, startSentinelGroup, type TestSentinelGroup } from '../support/redis-sentinel.js'

describe('test sentinel group', () => {
  let group: TestSentinelGroup
  beforeAll(async () => {
    group = await startSentinelGroup()
  }, 60_000)
  afterAll(() => group?.stop())

  it('has a master with a synced replica, watched by 3 sentinels', async () => {
    const master = await group.masterPort()
    expect(group.dataPorts).toContain(master)
    expect(await roleOf(master)).toBe('master')
    expect(group.sentinels).toHaveLength(3)
    const replica = group.dataPorts.find((port) => port !== master) as number
    expect(await redisCli(replica, ['INFO', 'replication'])).toContain('master_link_status:up')
  })

  it('fails over to the replica when the master is killed, and takes the old master back as a replica', async () => {
    const old = await group.masterPort()
    const promoted = await group.killMaster()
    expect(promoted).not.toBe(old)
    expect(await roleOf(promoted)).toBe('master')
    await group.restart(old)
    expect(await roleOf(old)).toBe('slave')
    expect(await group.masterPort()).toBe(promoted)
  }, 60_000)
})
