import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULT_CONFIG, OPTION_SPECS, helpText, parseConfig, redisSettingsOf } from '../src/config.js'
import { authorizerFromConfig, gatewayOptionsFromConfig, securityFromConfig } from '../src/cli-options.js'

describe('parseConfig', () => {
  it('uses the defaults with no flags and no env', () => {
    expect(parseConfig([], {})).toEqual(DEFAULT_CONFIG)
    expect(DEFAULT_CONFIG.port).toBe(3030)
    expect(DEFAULT_CONFIG.host).toBe('127.0.0.1')
    expect(DEFAULT_CONFIG.redisUrl).toBeUndefined()
  })

  it('reads env vars, JOBCAST_PORT over PORT', () => {
    expect(parseConfig([], { PORT: '4000' }).port).toBe(4000)
    expect(parseConfig([], { PORT: '4000', JOBCAST_PORT: '5000' }).port).toBe(5000)
    const config = parseConfig([], { JOBCAST_REDIS_URL: 'redis://r:6379', JOBCAST_PREFIX: 'x:', JOBCAST_INSECURE_OPEN: '1', JOBCAST_HOST: '0.0.0.0' })
    expect(config).toMatchObject({ redisUrl: 'redis://r:6379', prefix: 'x:', insecureOpen: true, host: '0.0.0.0' })
  })

  it('lets flags win over env, in both --flag value and --flag=value forms', () => {
    const config = parseConfig(['--port', '7000', '--redis-url=redis://flag:1', '--ttl', '60', '--heartbeat=500'], {
      JOBCAST_PORT: '5000',
      JOBCAST_REDIS_URL: 'redis://env:1',
    })
    expect(config).toMatchObject({ port: 7000, redisUrl: 'redis://flag:1', ttlSeconds: 60, heartbeatMs: 500 })
  })

  it('parses every limit flag', () => {
    const config = parseConfig(
      ['--ws-ping-interval', '1000', '--max-subscriptions', '5', '--max-frame-bytes', '100', '--max-buffered-bytes', '2048', '--max-jobs-per-stream', '3', '--shutdown-timeout', '900'],
      {},
    )
    expect(config).toMatchObject({ wsPingIntervalMs: 1000, maxSubscriptions: 5, maxFrameBytes: 100, maxBufferedBytes: 2048, maxJobsPerStream: 3, shutdownTimeoutMs: 900 })
  })

  it('--demo implies open mode', () => {
    expect(parseConfig(['--demo'], {})).toMatchObject({ demo: true, insecureOpen: true })
  })

  it.each([
    [['--nope'], /unknown option "--nope"/],
    [['--port'], /--port needs a value/],
    [['--port', '--demo'], /--port needs a value/],
    [['--port', 'abc'], /--port must be a whole number from 0 to 65535, got abc/],
    [['--port', '70000'], /--port must be a whole number from 0 to 65535, got 70000/],
    [['--insecure-open=maybe'], /true or false/],
  ])('rejects %j clearly', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(message)
    expect(() => parseConfig(argv, {})).toThrow(ConfigError)
  })

  it('rejects a bad env value naming the variable', () => {
    expect(() => parseConfig([], { JOBCAST_PORT: 'x' })).toThrow(/JOBCAST_PORT/)
  })
})

describe('helpText', () => {
  it('lists every flag with its env vars and default', () => {
    const text = helpText()
    for (const spec of OPTION_SPECS) {
      expect(text).toContain(spec.flag)
      for (const env of spec.env) expect(text).toContain(env)
    }
    expect(text).toContain('(default 3030)')
    expect(text).toContain('(default "jobcast:")')
    for (const spec of OPTION_SPECS.filter((s) => s.key !== 'help' && s.key !== 'version')) {
      const row = text.split('\n').find((line) => line.startsWith(`  ${spec.flag} `))
      expect(row, spec.flag).toMatch(/\(default [^)]+\)/)
    }
    expect(text).toMatch(/--redis-url <url> +[^\n]*\(default none\)/)
    expect(text).toMatch(/--insecure-open +[^\n]*\(default off\)/)
  })
})

describe('security flags', () => {
  it('reads token, CORS and per-IP options; list flags repeat or take commas, flags replace env', () => {
    const config = parseConfig(
      ['--secret', 's', '--audience', 'jobcast', '--issuer', 'app', '--cors-origin', 'https://a.example,https://b.example', '--cors-origin=https://c.example', '--poll-rate', '5:10', '--max-connections-per-ip', '3', '--max-sse-per-ip', '2', '--trust-proxy', '1', '--max-token-bytes', '2048', '--max-sockets-per-ip', '50', '--max-sockets', '900', '--request-timeout', '2000'],
      { JOBCAST_CORS_ORIGIN: 'https://env.example' },
    )
    expect(config).toMatchObject({
      secret: 's',
      audience: 'jobcast',
      issuer: 'app',
      corsOrigins: ['https://a.example', 'https://b.example', 'https://c.example'],
      pollRate: '5:10',
      maxConnectionsPerIp: 3,
      maxSsePerIp: 2,
      trustProxyHops: 1,
      maxTokenBytes: 2048,
      maxSocketsPerIp: 50,
      maxSockets: 900,
      requestTimeoutMs: 2000,
    })
    expect(parseConfig([], { JOBCAST_CORS_ORIGIN: 'https://env.example, https://two.example', JOBCAST_SECRET: 'x' })).toMatchObject({
      corsOrigins: ['https://env.example', 'https://two.example'],
      secret: 'x',
    })
  })

  it('never prints a secret default in --help', () => {
    expect(helpText()).toMatch(/--secret <s> {2,}HS256[^\n]*\[env JOBCAST_SECRET\]/)
  })
})

describe('Redis topology flags', () => {
  it('reads cluster and sentinel lists from flags (repeated or comma-separated) and env', () => {
    expect(parseConfig(['--redis-cluster', '10.0.0.1:7000,10.0.0.2:7000', '--redis-cluster=10.0.0.3:7000'], {}).redisCluster).toEqual([
      '10.0.0.1:7000',
      '10.0.0.2:7000',
      '10.0.0.3:7000',
    ])
    const config = parseConfig([], { JOBCAST_REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379', JOBCAST_SENTINEL_NAME: 'main', JOBCAST_REDIS_PASSWORD: 'pw', JOBCAST_REDIS_TLS: '1' })
    expect(config).toMatchObject({ redisSentinels: ['10.0.0.1:26379', '10.0.0.2:26379'], sentinelName: 'main', redisPassword: 'pw', redisTls: true })
    expect(redisSettingsOf(config)).toEqual({ sentinels: ['10.0.0.1:26379', '10.0.0.2:26379'], sentinelName: 'main', password: 'pw', tls: true })
    expect(redisSettingsOf(parseConfig([], {}))).toBeUndefined()
  })

  it.each([
    [['--redis-url', 'redis://h:1', '--redis-cluster', 'h:2'], '[jobcast] --redis-url and --redis-cluster both name a Redis: give only one of --redis-url, --redis-cluster or --redis-sentinels'],
    [['--redis-cluster', 'h:2', '--redis-sentinels', 'h:3', '--sentinel-name', 'm'], '[jobcast] --redis-cluster and --redis-sentinels both name a Redis: give only one of --redis-url, --redis-cluster or --redis-sentinels'],
    [['--redis-sentinels', 'h:3'], '[jobcast] --redis-sentinels needs --sentinel-name: the master name of "sentinel monitor <name> …" in sentinel.conf'],
    [['--sentinel-name', 'm'], "[jobcast] --sentinel-name is only used with --redis-sentinels: add the sentinels' host:port list, or drop it"],
    [['--redis-cluster', '10.0.0.1'], '[jobcast] --redis-cluster takes host:port entries (e.g. 10.0.0.5:6379 or [::1]:6379), got "10.0.0.1"'],
    [['--redis-password', 'pw'], '[jobcast] --redis-password given without a Redis: add --redis-url, --redis-cluster or --redis-sentinels'],
  ])('refuses %j with one line naming the flags', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError)
    expect(() => parseConfig(argv, {})).toThrow(message)
  })

  it('an env var and a flag for two topologies conflict too', () => {
    expect(() => parseConfig(['--redis-cluster', 'h:2'], { JOBCAST_REDIS_URL: 'redis://h:1' })).toThrow(/--redis-url and --redis-cluster both name a Redis/)
  })

  it('never shows a Redis password in errors or --help', () => {
    let message = ''
    try {
      parseConfig(['--redis-url', 'redis://app:hunter2@h:1', '--redis-password', 'hunter3'], {})
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/password is given twice/)
    expect(message).not.toMatch(/hunter/)
    expect(helpText()).toMatch(/--redis-password <pw> +[^\n]*\(default none\)\s+\[env JOBCAST_REDIS_PASSWORD\]/)
  })
})

describe('cli options', () => {
  it('refuses to run without a token key unless open mode is explicit, and says how to fix it', () => {
    expect(() => authorizerFromConfig(parseConfig([], {}))).toThrow(/--secret[\s\S]*--insecure-open/)
    const open = authorizerFromConfig(parseConfig(['--insecure-open'], {}))
    expect(open.authorizer.open).toBe(true)
    expect(open.warning).toMatch(/WARNING/)
    const secured = authorizerFromConfig(parseConfig([], { JOBCAST_SECRET: 'a-secret-that-is-long-enough-0123456789' }))
    expect(secured.authorizer.open).toBe(false)
  })

  it('maps config to gateway options with security hooks; demo never uses Redis', () => {
    const config = parseConfig(['--redis-url', 'redis://x:1', '--max-subscriptions', '7', '--insecure-open'], {})
    const { authorizer } = authorizerFromConfig(config)
    const options = gatewayOptionsFromConfig(config, authorizer)
    expect(options).toMatchObject({ redisUrl: 'redis://x:1', maxSubscriptions: 7, authorizer })
    // Hooks, not middleware: the gateway also applies their socket caps and upgrade check.
    expect(options.security).toMatchObject({ admitSocket: expect.any(Function), checkUpgrade: expect.any(Function) })
    expect(options.beforeRoutes).toBeUndefined()
    expect(gatewayOptionsFromConfig({ ...config, demo: true }, authorizer).redisUrl).toBeUndefined()
  })

  it('passes cluster, sentinel and credential flags to the gateway options', () => {
    const { authorizer } = authorizerFromConfig(parseConfig(['--insecure-open'], {}))
    const options = (argv: string[]) => gatewayOptionsFromConfig(parseConfig(argv, {}), authorizer)
    expect(options(['--redis-cluster', '10.0.0.1:7000,10.0.0.2:7000', '--redis-password', 'hunter2'])).toMatchObject({ cluster: ['10.0.0.1:7000', '10.0.0.2:7000'], redisPassword: 'hunter2', redisUrl: undefined })
    expect(options(['--redis-sentinels', '10.0.0.1:26379', '--sentinel-name', 'main', '--redis-username', 'app', '--redis-tls'])).toMatchObject({ sentinels: ['10.0.0.1:26379'], sentinelName: 'main', redisUsername: 'app', redisTls: true })
    expect(options(['--redis-url', 'redis://h:1', '--redis-password', 'hunter2'])).toMatchObject({ redisUrl: 'redis://h:1', redisPassword: 'hunter2' })
  })

  it('rejects a malformed poll rate clearly', () => {
    expect(() => securityFromConfig(parseConfig(['--poll-rate', 'fast'], {}))).toThrow(/--poll-rate/)
  })
})
