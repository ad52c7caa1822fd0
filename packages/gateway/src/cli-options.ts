/** From parsed configuration to gateway options (pure apart from reading key files; nothing starts). */
import { authorizerFromConfig as authFromConfig, type AuthSetup } from './auth/authorizer-from-config.js'
import type { Authorizer } from './auth/authorizer.js'
import { ConfigError, redisSettingsOf, type GatewayConfig } from './config.js'
import { createGateway, type Gateway, type GatewayOptions } from './create-gateway.js'
import { createDemo, type Demo } from './demo/demo-routes.js'
import { createSecurityHooks, type SecurityHooks } from './admission/security-hooks.js'
import { parsePollRate, parseSubscribeRate } from './rate-options.js'

/**
 * Which authorizer the configuration asks for: JWT job tokens from `--secret`, `--public-key`
 * or `--jwks`; open mode only when explicit (`--insecure-open`, implied by `--demo`).
 * @throws a `[jobcast]` error saying how to fix the configuration
 */
export function authorizerFromConfig(config: GatewayConfig): AuthSetup {
  return authFromConfig({
    secret: config.secret,
    publicKeyFile: config.publicKeyFile,
    jwksFile: config.jwksFile,
    audience: config.audience,
    issuer: config.issuer,
    maxTokenBytes: config.maxTokenBytes,
    maxTokenLifetimeSec: config.maxTokenLifetimeSec,
    insecureOpen: config.insecureOpen,
  })
}

/**
 * CORS, per-IP limits and the WebSocket upgrade check from the configuration.
 * @throws ConfigError for a malformed origin or rate (the limits' own message, naming the flag)
 */
export function securityFromConfig(config: GatewayConfig): SecurityHooks {
  try {
    return createSecurityHooks({
      corsOrigins: config.corsOrigins,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      maxSsePerIp: config.maxSsePerIp,
      maxSocketsPerIp: config.maxSocketsPerIp,
      maxSockets: config.maxSockets,
      ...parsePollRate(config.pollRate),
      ...parseSubscribeRate(config.subscribeRate),
      trustProxyHops: config.trustProxyHops,
    })
  } catch (error) {
    // The limits check their settings with plain errors; here they are the user's to fix.
    throw new ConfigError(error instanceof Error ? error.message : String(error), { cause: error })
  }
}

/**
 * Gateway options from the configuration (security hooks included).
 * @throws ConfigError when the Redis options conflict or are malformed
 */
export function gatewayOptionsFromConfig(config: GatewayConfig, authorizer: Authorizer, security: SecurityHooks = securityFromConfig(config)): GatewayOptions {
  const redis = config.demo ? undefined : redisSettingsOf(config)
  return {
    redisUrl: redis?.url,
    cluster: redis?.cluster,
    sentinels: redis?.sentinels,
    sentinelName: redis?.sentinelName,
    redisUsername: redis?.username,
    redisPassword: redis?.password,
    redisTls: redis?.tls,
    // ioredis retries a lost Redis without end: one line every few seconds says why.
    onRedisError: (line) => console.error(line),
    prefix: config.prefix,
    ttlSeconds: config.ttlSeconds,
    authorizer,
    ...(config.producerSecret !== undefined && { producerSecret: config.producerSecret }),
    ...(config.bullmqQueues.length > 0 && { bullmq: { queues: config.bullmqQueues, bullPrefix: config.bullmqPrefix, jobId: config.bullmqJobId } }),
    // The CLI prints its own framed open-mode banner.
    warnOpenMode: false,
    security,
    heartbeatMs: config.heartbeatMs,
    wsPingIntervalMs: config.wsPingIntervalMs,
    maxSubscriptions: config.maxSubscriptions,
    maxFrameBytes: config.maxFrameBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    maxJobsPerStream: config.maxJobsPerStream,
    requestTimeoutMs: config.requestTimeoutMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  }
}

/** A gateway built from the configuration, not listening yet. */
export interface ConfiguredGateway {
  /** The authorizer chosen, with its one-line summary and any open-mode warning. */
  readonly auth: AuthSetup
  /** The gateway; nothing listens until `listen()`. */
  readonly gateway: Gateway
  /** The demo routes and jobs with `--demo`. @default undefined */
  readonly demo: Demo | undefined
}

/**
 * Everything the CLI starts, built from the configuration without listening: the one path from
 * flags to a gateway, so a test can drive every flag through it.
 * @throws an error {@link isConfigError} accepts for anything the user must fix
 */
export function gatewayFromConfig(config: GatewayConfig): ConfiguredGateway {
  const auth = authorizerFromConfig(config)
  const options = gatewayOptionsFromConfig(config, auth.authorizer, securityFromConfig(config))
  const demo = config.demo ? createDemo() : undefined
  return { auth, gateway: createGateway({ ...options, extraRoutes: demo?.routes }), demo }
}
