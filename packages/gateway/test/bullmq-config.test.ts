/** The CLI's BullMQ flags, from argv and env to the gateway's `bullmq` option. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { openAuthorizer } from '../src/auth/authorizer.js'
import { gatewayOptionsFromConfig } from '../src/cli-options.js'
import { createGateway } from '../src/create-gateway.js'
import { ConfigError, DEFAULT_CONFIG, OPTION_SPECS, helpText, parseConfig } from '../src/config.js'

describe('--bullmq', () => {
  it('lists queues (repeatable or comma-separated) with the prefix and id template', () => {
    const config = parseConfig(['--redis-url', 'redis://127.0.0.1:6379', '--bullmq', 'emails,exports', '--bullmq', 'reports', '--bullmq-prefix', '{bull}', '--bullmq-job-id', 'bull-{queue}-{id}'])
    expect(gatewayOptionsFromConfig(config, openAuthorizer).bullmq).toEqual({ queues: ['emails', 'exports', 'reports'], bullPrefix: '{bull}', jobId: 'bull-{queue}-{id}' })
  })

  it('reads the environment, with the defaults of the library', () => {
    const config = parseConfig([], { JOBCAST_REDIS_URL: 'redis://127.0.0.1:6379', JOBCAST_BULLMQ: 'emails' })
    expect(gatewayOptionsFromConfig(config, openAuthorizer).bullmq).toEqual({ queues: ['emails'], bullPrefix: 'bull', jobId: '{queue}:{id}' })
    expect(gatewayOptionsFromConfig(parseConfig([]), openAuthorizer).bullmq).toBeUndefined()
  })

  it('needs the Redis of the queues', () => {
    expect(() => parseConfig(['--bullmq', 'emails'])).toThrow(ConfigError)
    expect(() => parseConfig(['--bullmq', 'emails', '--demo', '--redis-url', 'redis://127.0.0.1:6379'])).toThrow(/^\[jobcast\] --bullmq needs --redis-url/)
  })

  it('refuses a cluster bus without the Redis of the queues before it opens any connection', () => {
    expect(() => createGateway({ authorizer: openAuthorizer, warnOpenMode: false, cluster: ['127.0.0.1:1'], bullmq: { queues: ['exports'] } })).toThrow(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringMatching(/reads one Redis server/) }),
    )
  })

  it('is in --help', () => {
    expect(helpText()).toMatch(/--bullmq <queue> .*needs --redis-url/)
  })
})

it('docs/bullmq.md lists every BullMQ flag with its variable and default', () => {
  const doc = readFileSync(new URL('../../../docs/bullmq.md', import.meta.url), 'utf8')
  const specs = OPTION_SPECS.filter((spec) => spec.key.startsWith('bullmq'))
  expect(specs.length).toBe(3)
  for (const spec of specs) {
    const fallback = DEFAULT_CONFIG[spec.key]
    const shown = Array.isArray(fallback) ? 'none' : `\`${String(fallback)}\``
    expect(doc).toContain(`| \`${spec.flag} ${spec.arg}\` | \`${spec.env[0]}\` | ${shown} |`)
  }
})
