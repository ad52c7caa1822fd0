/**
 * Picks the gateway's authorizer from its configuration: secured (a JWT key) is the
 * default; open mode only when explicitly asked for. Used by the CLI; library users can
 * call it too, or build a {@link createJwtAuthorizer} themselves.
 */
import { readFileSync } from 'node:fs'
import { JobcastError } from '../errors.js'
import { openAuthorizer, type Authorizer } from './authorizer.js'
import { createJwtAuthorizer } from './jwt-authorizer.js'

/** The token settings of the gateway configuration. */
export interface AuthConfig {
  /** HS256 shared secret. @default undefined */
  secret?: string
  /** Path of a PEM public key (or certificate). @default undefined */
  publicKeyFile?: string
  /** Path of a JWKS file. @default undefined */
  jwksFile?: string
  /** Required `aud`. @default undefined */
  audience?: string
  /** Required `iss`. @default undefined */
  issuer?: string
  /** Longest token accepted, bytes. @default 4096 */
  maxTokenBytes?: number
  /** Longest remaining token lifetime accepted, seconds (`0` = no cap). @default 0 */
  maxTokenLifetimeSec?: number
  /** Allow everything without a token (development only). @default false */
  insecureOpen?: boolean
}

/** The chosen authorizer, and the warning to print at start when it is open. */
export interface AuthSetup {
  readonly authorizer: Authorizer
  readonly warning: string | undefined
  /** One line describing the mode, for the start-up banner. */
  readonly summary: string
}

/** The warning printed when the gateway runs without tokens. */
export const OPEN_MODE_WARNING = [
  '[jobcast] WARNING: open mode — every client may read every job\'s events without a token.',
  '[jobcast] Use it only for local development. To secure the gateway set --secret (or JOBCAST_SECRET),',
  '[jobcast] --public-key or --jwks, and mint job tokens with signJobToken(): see docs/security.md.',
].join('\n')

/**
 * Builds the authorizer. Throws a `[jobcast]` error that says how to fix it when no key is
 * configured and open mode was not asked for, or when the key is unusable.
 */
export function authorizerFromConfig(config: AuthConfig): AuthSetup {
  const keys = [config.secret, config.publicKeyFile, config.jwksFile].filter((k) => k !== undefined && k !== '')
  if (keys.length === 0) {
    if (config.insecureOpen === true) return { authorizer: openAuthorizer, warning: OPEN_MODE_WARNING, summary: 'auth: OPEN (no tokens)' }
    throw new JobcastError('invalid_config', 
      [
        '[jobcast] no token key configured, and secured mode is the default.',
        '  Set one of: --secret <32+ bytes> (or JOBCAST_SECRET; generate with "openssl rand -base64 48"),',
        '              --public-key <pem file> (or JOBCAST_PUBLIC_KEY), --jwks <file> (or JOBCAST_JWKS).',
        '  For local development only: --insecure-open (or JOBCAST_INSECURE_OPEN=1), or --demo.',
        '  See docs/security.md.',
      ].join('\n'),
    )
  }
  if (keys.length > 1) throw new JobcastError('invalid_config', '[jobcast] set only one of --secret, --public-key and --jwks')
  const common = {
    ...(config.audience !== undefined && config.audience !== '' && { audience: config.audience }),
    ...(config.issuer !== undefined && config.issuer !== '' && { issuer: config.issuer }),
    ...(config.maxTokenBytes !== undefined && config.maxTokenBytes > 0 && { maxTokenBytes: config.maxTokenBytes }),
    ...(config.maxTokenLifetimeSec !== undefined && config.maxTokenLifetimeSec > 0 && { maxTokenLifetimeSec: config.maxTokenLifetimeSec }),
  }
  if (config.secret !== undefined && config.secret !== '')
    return { authorizer: createJwtAuthorizer({ secret: config.secret, ...common }), warning: undefined, summary: 'auth: JWT HS256 (shared secret)' }
  if (config.publicKeyFile !== undefined && config.publicKeyFile !== '') {
    let pem: string
    try {
      pem = readFileSync(config.publicKeyFile, 'utf8')
    } catch (cause) {
      throw new JobcastError('invalid_config', `[jobcast] cannot read the public key file ${config.publicKeyFile}: check --public-key`, { cause })
    }
    return { authorizer: createJwtAuthorizer({ publicKey: pem, ...common }), warning: undefined, summary: `auth: JWT, public key ${config.publicKeyFile}` }
  }
  const jwksFile = config.jwksFile as string
  return { authorizer: createJwtAuthorizer({ jwksFile, ...common }), warning: undefined, summary: `auth: JWT, JWKS ${jwksFile}` }
}
