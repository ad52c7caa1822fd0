/** From parsed configuration to gateway options (pure apart from reading key files; nothing starts). */
import { authorizerFromConfig as authFromConfig, type AuthSetup } from './auth/authorizer-from-config.js'
import type { Authorizer } from './auth/authorizer.js'
import { ConfigError, redisSettingsOf, type GatewayConfig } from './config.js'
import type { GatewayOptions } from './create-gateway.js'
import { createSecurityHooks, parsePollRate, parseSubscribeRate, type SecurityHooks } from './limits/security-hooks.js'

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

/** CORS, per-IP limits and the WebSocket upgrade check from the configuration. */
export function securityFromConfig(config: GatewayConfig): SecurityHooks {
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
