import { Cluster, Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createRedisConnections } from '../src/bus/redis-connection.js'
import {
  checkRedisSettings,
  describeRedisTarget,
  parseRedisAddress,
  redactRedisUrl,
  redisTopology,
  type RedisConnectionSettings,
} from '../src/bus/redis-settings.js'
import { isJobcastError } from '../src/errors.js'

function errorOf(run: () => unknown): Error {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

describe('parseRedisAddress', () => {
  it.each([
    ['10.0.0.5:6379', { host: '10.0.0.5', port: 6379 }],
    ['redis-0.redis.svc:7000', { host: 'redis-0.redis.svc', port: 7000 }],
    [' [::1]:26379 ', { host: '::1', port: 26379 }],
  ])('reads %j', (text, address) => {
    expect(parseRedisAddress(text, 'cluster')).toEqual(address)
  })

  it.each(['10.0.0.5', ':6379', '10.0.0.5:0', '10.0.0.5:65536', 'host:port', '::1:6379', 'a b:1', 'redis://h:1'])('refuses %j with invalid_config, naming the setting', (text) => {
    const error = errorOf(() => parseRedisAddress(text, '--redis-cluster'))
    expect(isJobcastError(error) && error.code).toBe('invalid_config')
    expect(error.message).toMatch(/^\[jobcast\] --redis-cluster takes host:port entries \(e\.g\. /)
  })
})

describe('checkRedisSettings', () => {
  it('gives undefined when no Redis is named (the embedded bus)', () => {
    expect(checkRedisSettings({})).toBeUndefined()
    expect(checkRedisSettings({ url: '', cluster: [], sentinels: [], sentinelName: '', tls: false })).toBeUndefined()
  })

  it('types each topology and keeps credentials and TLS', () => {
    expect(checkRedisSettings({ url: 'rediss://app@r.example:6380/2', password: 'pw' })).toEqual({ url: 'rediss://app@r.example:6380/2', password: 'pw' })
    const cluster = checkRedisSettings({ cluster: ['10.0.0.1:7000', '10.0.0.2:7000'], username: 'app', password: 'pw', tls: true }) as RedisConnectionSettings
    expect(cluster).toEqual({ cluster: ['10.0.0.1:7000', '10.0.0.2:7000'], username: 'app', password: 'pw', tls: true })
    expect(redisTopology(cluster)).toBe('cluster')
    const sentinel = checkRedisSettings({ sentinels: ['10.0.0.1:26379'], sentinelName: 'main', sentinelPassword: 'sp' }) as RedisConnectionSettings
    expect(sentinel).toEqual({ sentinels: ['10.0.0.1:26379'], sentinelName: 'main', sentinelPassword: 'sp' })
    expect(redisTopology(sentinel)).toBe('sentinel')
    expect(redisTopology({ url: 'redis://h:1' })).toBe('standalone')
  })

  it.each([
    [{ url: 'redis://h:1', cluster: ['h:2'] }, /^\[jobcast\] url and cluster both name a Redis: give only one of url, cluster or sentinels$/],
    [{ cluster: ['h:2'], sentinels: ['h:3'], sentinelName: 'm' }, /cluster and sentinels both name a Redis/],
    [{ sentinels: ['h:3'] }, /sentinels needs sentinelName: the master name of "sentinel monitor <name> …"/],
    [{ sentinelName: 'm' }, /sentinelName is only used with sentinels/],
    [{ password: 'pw' }, /password given without a Redis: add url, cluster or sentinels/],
    [{ url: 'localhost:6379' }, /url must start with redis:\/\/ \(or rediss:\/\/ for TLS\)/],
    [{ url: 'http://h:1' }, /url must start with redis:\/\//],
    [{ url: 'redis://app:%zz@h:1' }, /url is not a valid URL: "redis:\/\/app:\*\*\*@h:1" \(percent-encode special characters of the password\)/],
    [{ url: 'redis://:in-url@h:1', password: 'pw' }, /password is given twice, in url and in password: keep one/],
    [{ url: 'redis://ann@h:1', username: 'bob' }, /user name differs between url and username/],
    [{ cluster: ['h'] }, /cluster takes host:port entries/],
    [{ sentinels: ['h:3', 'nope'], sentinelName: 'm' }, /sentinels takes host:port entries .* got "nope"/],
  ])('refuses %j with a one-line invalid_config error', (input, message) => {
    const error = errorOf(() => checkRedisSettings(input))
    expect(isJobcastError(error) && error.code).toBe('invalid_config')
    expect(error.message).toMatch(message)
    expect(error.message).not.toContain('\n')
  })

  it('names the settings in the caller’s terms', () => {
    const labels = { url: '--redis-url', cluster: '--redis-cluster', sentinels: '--redis-sentinels', sentinelName: '--sentinel-name', username: '--redis-username', password: '--redis-password', tls: '--redis-tls' }
    expect(errorOf(() => checkRedisSettings({ url: 'redis://h:1', sentinels: ['h:2'] }, labels)).message).toBe(
      '[jobcast] --redis-url and --redis-sentinels both name a Redis: give only one of --redis-url, --redis-cluster or --redis-sentinels',
    )
  })

  it('never repeats a password from a malformed URL in its error', () => {
    const error = errorOf(() => checkRedisSettings({ url: 'redis://user:p@ss:w0rd@host:x' }))
    expect(error.message).not.toContain('w0rd')
  })
})

describe('describeRedisTarget never shows a password', () => {
  const secret = 'pa:ss@w0rd%21'
  it.each<[RedisConnectionSettings, string]>([
    [{ url: 'redis://127.0.0.1:6379' }, 'redis://127.0.0.1:6379'],
    [{ url: `redis://app:${encodeURIComponent(secret)}@r.example:6379/1` }, 'redis://app:***@r.example:6379/1'],
    [{ url: `rediss://:${encodeURIComponent(secret)}@r.example` }, 'rediss://:***@r.example'],
    [{ url: 'redis://app@r.example', password: secret, tls: true }, 'redis://app@r.example (password ***, TLS)'],
    [{ cluster: ['10.0.0.1:7000', '10.0.0.2:7000'], username: 'app', password: secret }, 'cluster 10.0.0.1:7000,10.0.0.2:7000 (user app, password ***)'],
    [{ sentinels: ['10.0.0.1:26379'], sentinelName: 'main', password: secret, sentinelPassword: secret, tls: {} }, 'sentinel master "main" via 10.0.0.1:26379 (password ***, TLS)'],
  ])('%j', (settings, text) => {
    const described = describeRedisTarget(settings)
    expect(described).toBe(text)
    expect(described).not.toContain('w0rd')
  })

  it('redacts malformed URLs too', () => {
    expect(redactRedisUrl('redis://u:pa ss@h')).toBe('redis://u:***@h')
    expect(redactRedisUrl('not a url')).toBe('not a url')
  })
})

describe('createRedisConnections', () => {
  const lazy = { redisOptions: { lazyConnect: true } }

  it('builds two standalone connections with the URL, credentials and TLS', () => {
    const connections = createRedisConnections({ url: 'rediss://app@127.0.0.1:1/3', password: 'pw' }, lazy)
    try {
      expect(connections.topology).toBe('standalone')
      for (const client of [connections.command, connections.subscriber]) {
        expect(client).toBeInstanceOf(Redis)
        expect((client as Redis).options).toMatchObject({ host: '127.0.0.1', port: 1, db: 3, username: 'app', password: 'pw', lazyConnect: true })
        expect((client as Redis).options.tls).toBeTruthy()
      }
      expect(connections.command).not.toBe(connections.subscriber)
    } finally {
      connections.close()
      connections.close()
    }
  })

  it('takes the credentials out of the URL, encoded characters included', () => {
    const connections = createRedisConnections({ url: `redis://app:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:1` }, lazy)
    try {
      expect((connections.command as Redis).options).toMatchObject({ host: '127.0.0.1', port: 1, username: 'app', password: 'p@ss:w/rd' })
    } finally {
      connections.close()
    }
  })

  it('builds cluster clients, the subscriber routing SSUBSCRIBE by slot', () => {
    const connections = createRedisConnections({ cluster: ['127.0.0.1:1', '[::1]:2'], password: 'pw', tls: true }, lazy)
    try {
      expect(connections.topology).toBe('cluster')
      const command = connections.command as Cluster
      const subscriber = connections.subscriber as Cluster
      expect(command).toBeInstanceOf(Cluster)
      expect(subscriber.options.shardedSubscribers).toBe(true)
      expect(command.options.shardedSubscribers).toBe(false)
      // Its MOVED retries wait for ioredis' slot refresh (cluster-sharded-pubsub.test.ts).
      expect(subscriber.options.retryDelayOnMoved).toBeGreaterThan(0)
      expect(command.options.retryDelayOnMoved).toBe(0)
      // Both notice a promoted replica even when the old master hangs (cluster-hung-master.test.ts).
      expect(subscriber.options.slotsRefreshInterval).toBeGreaterThan(0)
      expect(command.options.slotsRefreshInterval).toBeGreaterThan(0)
      expect(subscriber.options.redisOptions).toMatchObject({ password: 'pw', tls: {} })
      expect(subscriber.options.lazyConnect).toBe(true)
    } finally {
      connections.close()
    }
  })

  it('builds sentinel clients for the named master, TLS to the sentinels too', () => {
    const connections = createRedisConnections({ sentinels: ['127.0.0.1:1'], sentinelName: 'main', sentinelPassword: 'sp', tls: true }, lazy)
    try {
      expect(connections.topology).toBe('sentinel')
      expect((connections.subscriber as Redis).options).toMatchObject({
        sentinels: [{ host: '127.0.0.1', port: 1 }],
        name: 'main',
        sentinelPassword: 'sp',
        enableTLSForSentinelMode: true,
        failoverDetector: true,
      })
    } finally {
      connections.close()
    }
  })
})
