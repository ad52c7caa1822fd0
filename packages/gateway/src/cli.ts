#!/usr/bin/env node
/**
 * `jobcast-gateway`: parse flags/env, start the gateway, shut down gracefully on
 * SIGTERM/SIGINT within the shutdown bound.
 */
import type { AuthSetup } from './auth/authorizer-from-config.js'
import { authorizerFromConfig, gatewayOptionsFromConfig, securityFromConfig } from './cli-options.js'
import { describeRedisTarget } from './bus/redis-connection.js'
import { helpText, parseConfig, redisSettingsOf, type GatewayConfig } from './config.js'
import { createGateway, type GatewayOptions } from './create-gateway.js'
import { createDemo } from './demo/demo-routes.js'

/** Frames the open-mode warning so it cannot be missed in a log. */
function loud(text: string): string {
  const bar = '*'.repeat(78)
  return `\n${bar}\n${text}\n${bar}\n`
}

async function main(): Promise<void> {
  let config: GatewayConfig
  try {
    config = parseConfig(process.argv.slice(2), process.env)
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(2)
  }
  if (config.help) {
    process.stdout.write(helpText())
    return
  }
  let auth: AuthSetup
  let options: GatewayOptions
  try {
    auth = authorizerFromConfig(config)
    options = gatewayOptionsFromConfig(config, auth.authorizer, securityFromConfig(config))
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(2)
  }
  const demo = config.demo ? createDemo() : undefined
  const gateway = createGateway({ ...options, extraRoutes: demo?.routes })
  let url: string
  try {
    ;({ url } = await gateway.listen(config.port, config.host))
  } catch (error) {
    const code = (error as { code?: string }).code
    console.error(
      code === 'EADDRINUSE'
        ? `[jobcast] port ${config.port} is in use: pick another with --port or JOBCAST_PORT`
        : `[jobcast] could not listen on ${config.host}:${config.port}: ${String(error)}`,
    )
    await gateway.close()
    process.exit(1)
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
}

void main()
