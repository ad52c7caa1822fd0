/** Self-test of test/support/redis-cluster.ts: the cluster the scale tests rely on behaves as they assume. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type TestCluster } from '../support/redis-cluster.js'
import { redisCli } from '../support/redis-topology.js'

describe('test cluster', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await startCluster()
  }, 60_000)
  afterAll(() => cluster?.stop())

  it('has 3 masters covering every slot, each with a replica', async () => {
    const masters = await cluster.masterPorts()
    expect(masters).toHaveLength(3)
    const info = await redisCli(masters[0] as number, ['CLUSTER', 'INFO'])
    expect(info).toContain('cluster_slots_assigned:16384')
    expect(info).toContain('cluster_known_nodes:6')
    expect(info).toContain('cluster_size:3')
  })

  it('a key written through its master is read back there', async () => {
    const master = await cluster.masterOf('jobcast:job:{self-test}')
    await redisCli(master, ['SET', 'jobcast:job:{self-test}', 'v'])
    expect(await redisCli(master, ['GET', 'jobcast:job:{self-test}'])).toBe('v')
  })

  it('moves a slot with its keys', async () => {
    const slot = await cluster.slotOf('jobcast:job:{self-test}')
    const from = await cluster.masterOf('jobcast:job:{self-test}')
    const to = (await cluster.masterPorts()).find((port) => port !== from) as number
    await cluster.moveSlot(slot, to)
    expect(await cluster.masterOf('jobcast:job:{self-test}')).toBe(to)
    expect(await redisCli(to, ['GET', 'jobcast:job:{self-test}'])).toBe('v')
  })

  it('promotes the replica of a killed master, and takes the old master back as a replica', async () => {
    const victim = (await cluster.masterPorts())[0] as number
    const promoted = await cluster.killMaster(victim)
    expect(promoted).not.toBe(victim)
    expect(await cluster.masterPorts()).toContain(promoted)
    expect(await cluster.masterPorts()).not.toContain(victim)
    await cluster.restart(victim)
    const role = await redisCli(victim, ['ROLE'])
    expect(role.split('\n')[0]).toBe('slave')
  }, 60_000)
})
