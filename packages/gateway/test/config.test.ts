import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG, OPTION_SPECS, helpText, parseConfig } from '../src/config.js'
import { authorizerFromConfig, gatewayOptionsFromConfig } from '../src/cli-options.js'

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
  })
})

describe('cli options', () => {
  it('refuses to run without token verification unless open mode is explicit', () => {
    expect(() => authorizerFromConfig(parseConfig([], {}))).toThrow(/--insecure-open/)
    expect(authorizerFromConfig(parseConfig(['--insecure-open'], {})).open).toBe(true)
  })

  it('maps config to gateway options; demo never uses Redis', () => {
    const config = parseConfig(['--redis-url', 'redis://x:1', '--max-subscriptions', '7'], {})
    const auth = authorizerFromConfig({ ...config, insecureOpen: true })
    expect(gatewayOptionsFromConfig(config, auth)).toMatchObject({ redisUrl: 'redis://x:1', maxSubscriptions: 7 })
    expect(gatewayOptionsFromConfig({ ...config, demo: true }, auth).redisUrl).toBeUndefined()
  })
})
