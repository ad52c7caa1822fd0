/**
 * @jobcast/gateway: relay job events from Redis (or an embedded in-memory bus) to browsers
 * over WebSocket, SSE and polling, and publish them from Node.
 */
export { createGateway } from './create-gateway.js'
export type { Gateway, GatewayOptions, GatewayContext } from './create-gateway.js'
export { createApp } from './app.js'
export type { AppDeps } from './app.js'
export { parseConfig, helpText, DEFAULT_CONFIG, OPTION_SPECS, ConfigError } from './config.js'
export type { GatewayConfig, OptionSpec } from './config.js'
export type { UpgradeCheck, WsUpgradeDecision } from './ws/server.js'

export { createPublisher } from './publisher.js'
export type { Publisher, PublisherOptions, EventFields } from './publisher.js'
export { createBullmqBridge } from './bullmq/bullmq-bridge.js'
export type { BullmqBridge, BullmqBridgeOptions, GatewayBullmqOptions } from './bullmq/bullmq-bridge.js'
export type { BullmqJobId, BullmqJobIdFunction } from './bullmq/job-id.js'
export { MemoryBus, createMemoryBus } from './bus/memory-bus.js'
export type { MemoryBusOptions } from './bus/memory-bus.js'
export { RedisBus, createRedisBus } from './bus/redis-bus.js'
export type { RedisBusOptions, RedisBusStats } from './bus/redis-bus.js'
export { DroppedMessages, droppedBusMessages } from './bus/dropped-messages.js'
export type { DropReason, DroppedMessagesOptions } from './bus/dropped-messages.js'
export type { Bus, BusEvent, BusListener, BusState, PublishOutcome } from './bus/bus.js'
export { JobHub } from './hub.js'
export { frameCache } from './frame-cache.js'
export type { Watch, WatchOptions, WatchListener, WatchHandler, JobHubOptions } from './hub.js'

export { JOB_STATUSES, TERMINAL_STATUSES, JOB_ID_PATTERN, MAX_JOB_ID_LENGTH, isValidJobId, isTerminal, isTerminalStatus } from './protocol.js'
export type { JobEvent, JobEventInput, JobStatus, JobError, ErrorCode } from './protocol.js'
export { JobcastError, ValidationError, isJobcastError, isValidationError } from './errors.js'

export { openAuthorizer } from './auth/authorizer.js'
export type { Authorizer, AuthDecision, AuthFailureCode } from './auth/authorizer.js'
export { signJobToken } from './auth/sign-job-token.js'
export type { SignJobTokenOptions } from './auth/sign-job-token.js'
export { createJwtAuthorizer } from './auth/jwt-authorizer.js'
export type { JwtAuthorizer, JwtAuthorizerOptions, JwtKeyOptions } from './auth/jwt-authorizer.js'
export { createSecurityHooks, DEFAULT_SECURITY } from './admission/security-hooks.js'
export type { SecurityHooks, SecurityOptions } from './admission/security-hooks.js'

export { DEFAULT_PREFIX, jobKey } from './bus/keys.js'
export { PUBLISH_SCRIPT } from './bus/scripts.js'
