import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULT_CONFIG, OPTION_SPECS, helpText, parseConfig } from '../src/config.js'
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
    [['--port', 'abc'], /non-negative integer/],
    [['--port', '70000'], /0–65535/],
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
    for (const spec of OPTION_SPECS.filter((s) => s.key !== 'help')) {
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

  it('rejects a malformed poll rate clearly', () => {
    expect(() => securityFromConfig(parseConfig(['--poll-rate', 'fast'], {}))).toThrow(/--poll-rate/)
  })
})
