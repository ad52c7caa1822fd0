#!/usr/bin/env node
/**
 * `jobcast-gateway`: parse flags/env, start the gateway, shut down gracefully on
 * SIGTERM/SIGINT (or when `npm exec` that started it is gone) within the shutdown bound.
 */
import { readFileSync } from 'node:fs'
import { gatewayFromConfig, type ConfiguredGateway } from './cli-options.js'
import { describeRedisTarget } from './bus/redis-settings.js'
import { helpText, isConfigError, parseConfig, redisSettingsOf, secretFlagWarnings, type GatewayConfig } from './config.js'

/** Frames the open-mode warning so it cannot be missed in a log. */
function loud(text: string): string {
  const bar = '*'.repeat(78)
  return `\n${bar}\n${text}\n${bar}\n`
}

/** The package's version, for `--version`. */
function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  return (manifest as { version: string }).version
}

/**
 * A configuration error is the user's to fix: its `[jobcast]` message (one line for a bad value)
 * and exit code 2, never a stack trace. Anything else is a bug in the gateway and keeps its stack.
 */
function exitOnConfigError(error: unknown): never {
  if (isConfigError(error)) {
    console.error(error.message.startsWith('[jobcast] ') ? error.message : `[jobcast] ${error.message}`)
    process.exit(2)
  }
  throw error
}

/** How often a gateway started by `npm exec` checks that its parent still runs, ms. */
const ORPHAN_CHECK_MS = 500

/**
 * `npm exec`/`npx` run the CLI under `sh -c`, and forward SIGTERM/SIGINT only to that shell,
 * which dies without passing them on: the gateway would be orphaned. Started that way, it treats
 * losing its parent as the stop signal.
 */
function stopWhenOrphaned(stop: (reason: string) => void): void {
  if (process.env.npm_command !== 'exec') return
  const parent = process.ppid
  const watch = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(watch)
    stop('npm exec stopped')
  }, ORPHAN_CHECK_MS)
  watch.unref()
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  let config: GatewayConfig
  let configured: ConfiguredGateway
  try {
    config = parseConfig(argv, process.env)
    if (config.help) {
      process.stdout.write(helpText())
      return
    }
    if (config.version) {
      console.log(packageVersion())
      return
    }
    for (const warning of secretFlagWarnings(argv)) console.warn(warning)
    configured = gatewayFromConfig(config)
  } catch (error) {
    exitOnConfigError(error)
  }
  const { auth, gateway, demo } = configured
  let url: string
  try {
    ;({ url } = await gateway.listen(config.port, config.host))
  } catch (error) {
    const code = (error as { code?: string }).code
    // Only resolving the address tells a bad --host from a good one: it is a bad value all the same.
    const badHost = code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL'
    console.error(
      code === 'EADDRINUSE'
        ? `[jobcast] port ${config.port} is in use: pick another with --port or JOBCAST_PORT`
        : badHost
          ? `[jobcast] --host ${config.host} (or JOBCAST_HOST) is not an address of this machine: use 127.0.0.1, 0.0.0.0 (all interfaces) or one of its own addresses`
          : `[jobcast] could not listen on ${config.host}:${config.port}: ${String(error)}`,
    )
    await gateway.close()
    process.exit(badHost ? 2 : 1)
  }
  const redis = config.demo ? undefined : redisSettingsOf(config)
  const mode = gateway.bus.kind === 'redis' && redis ? `redis (${describeRedisTarget(redis)}, prefix ${config.prefix})` : 'embedded (in-memory bus, no Redis)'
  console.log(`[jobcast] gateway listening on ${url}`)
  console.log(`[jobcast] bus: ${mode}`)
  console.log(`[jobcast] ${auth.summary}`)
  if (config.bullmqQueues.length > 0) console.log(`[jobcast] bullmq: publishing the jobs of ${config.bullmqQueues.join(', ')} as ${config.bullmqJobId}`)
  console.log(`[jobcast] transports: ${url.replace(/^http/, 'ws')}/v1/ws · ${url}/v1/jobs/:id/events · ${url}/v1/events?id=… · ${url}/v1/jobs/:id`)
  if (demo) {
    console.log(`[jobcast] demo: open ${url}/ or start a job:`)
    console.log(`  curl -s -X POST ${url}/demo/jobs -H 'content-type: application/json' -d '{"kind":"export"}'`)
    console.log(`  curl -N ${url}/v1/jobs/<id>/events`)
  }
  if (auth.warning) console.warn(loud(auth.warning))

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      console.warn(`[jobcast] ${signal} again: exiting now`)
      process.exit(1)
    }
    stopping = true
    console.log(`[jobcast] ${signal}: closing connections (at most ${config.shutdownTimeoutMs} ms)`)
    demo?.stop()
    // The bound is enforced twice: close() cuts sockets at the timeout, this guards the rest.
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 2_000).unref()
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('[jobcast] error during shutdown:', error)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // A Ctrl-C reaches both the gateway and npm, which then kills the shell: one shutdown, not two.
  stopWhenOrphaned((reason) => stopping || stop(reason))
}

void main()
