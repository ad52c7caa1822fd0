/** From parsed configuration to gateway options (pure, testable without starting anything). */
import { openAuthorizer, type Authorizer } from './auth/authorizer.js'
import type { GatewayConfig } from './config.js'
import type { GatewayOptions } from './create-gateway.js'

/**
 * Which authorizer the configuration asks for. Open mode must be explicit (`--insecure-open`,
 * implied by `--demo`); token verification options extend this function.
 */
export function authorizerFromConfig(config: GatewayConfig): Authorizer {
  if (config.insecureOpen) return openAuthorizer
  throw new Error(
    '[jobcast] no job token verification is configured: for local development start with --insecure-open ' +
      '(or JOBCAST_INSECURE_OPEN=1), or try the demo with --demo',
  )
}

/** Gateway options from the configuration. */
export function gatewayOptionsFromConfig(config: GatewayConfig, authorizer: Authorizer): GatewayOptions {
  return {
    redisUrl: config.demo ? undefined : config.redisUrl,
    prefix: config.prefix,
    ttlSeconds: config.ttlSeconds,
    authorizer,
    heartbeatMs: config.heartbeatMs,
    wsPingIntervalMs: config.wsPingIntervalMs,
    maxSubscriptions: config.maxSubscriptions,
    maxFrameBytes: config.maxFrameBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    maxJobsPerStream: config.maxJobsPerStream,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  }
}

