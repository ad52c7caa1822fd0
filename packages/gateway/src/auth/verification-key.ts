/**
 * The key a JWT authorizer verifies tokens with, from exactly one source (shared secret,
 * public key, JWKS or JWKS file), and the algorithms it accepts: pinned by the key type,
 * never taken from the token (docs/security.md).
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import { JobcastError } from '../errors.js'

/** Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32

/** Algorithms a JWKS accepts unless told otherwise. */
export const DEFAULT_JWKS_ALGORITHMS: readonly string[] = ['RS256', 'ES256']

/** Where the verification key comes from: exactly one of `secret`, `publicKey`, `jwks`, `jwksFile`. */
export interface JwtKeyOptions {
  /** Shared HS256 secret (its UTF-8 bytes when a string), at least {@link MIN_SECRET_BYTES} bytes. */
  secret?: string | Uint8Array
  /** A public key: PEM text (SPKI `-----BEGIN PUBLIC KEY-----`, or a certificate) or a Node `KeyObject`. */
  publicKey?: string | KeyObject
  /** A JSON Web Key Set (`{"keys":[…]}`); the token's `kid` picks the key. */
  jwks?: JSONWebKeySet
  /** Path of a file holding a JSON Web Key Set; read once, at creation. */
  jwksFile?: string
}

const PRIVATE_KEY_MESSAGE =
  '[jobcast] the key given as public key is a private key: give the gateway only the public half ' +
  '(openssl pkey -in private.pem -pubout -out public.pem); the private key stays with the app that mints tokens'

/** What `jose` verifies a token's signature with. */
export type VerifyKey = Uint8Array | KeyObject | JWTVerifyGetKey

/**
 * The verification key of `options` and the algorithms it accepts, pinned by the key type.
 * @param algorithms - the algorithms asked for, checked against the key's family
 * @throws JobcastError `invalid_config` saying what to change
 */
export function resolveVerificationKey(options: JwtKeyOptions, algorithms: readonly string[] | undefined): { key: VerifyKey; algorithms: readonly string[] } {
  const given = (['secret', 'publicKey', 'jwks', 'jwksFile'] as const).filter((k) => options[k] !== undefined)
  if (given.length !== 1)
    throw new JobcastError('invalid_config', 
      `[jobcast] the JWT authorizer needs exactly one key source, got ${given.length === 0 ? 'none' : given.join(' + ')}: set --secret (HS256), --public-key or --jwks`,
    )
  if (algorithms?.some((a) => a.toLowerCase() === 'none'))
    throw new JobcastError('invalid_config', '[jobcast] algorithm "none" can never be allowed: remove it from the algorithms option')

  if (options.secret !== undefined) {
    const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret
    if (secret.byteLength < MIN_SECRET_BYTES)
      throw new JobcastError('invalid_config', 
        `[jobcast] the secret is ${secret.byteLength} bytes, HS256 needs at least ${MIN_SECRET_BYTES}: generate one with "openssl rand -base64 48"`,
      )
    return { key: secret, algorithms: checkFamily(algorithms ?? ['HS256'], 'HS', 'a secret') }
  }
  if (options.publicKey !== undefined) {
    // Node derives the public half from a private key without a word: refuse it, or the
    // private key would sit on the gateway, able to mint tokens, unnoticed.
    if ((typeof options.publicKey === 'string' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(options.publicKey)) || (typeof options.publicKey !== 'string' && options.publicKey.type !== 'public'))
      throw new JobcastError('invalid_config', PRIVATE_KEY_MESSAGE)
    let key: KeyObject
    try {
      key = typeof options.publicKey === 'string' ? createPublicKey(options.publicKey) : options.publicKey
    } catch (cause) {
      throw new JobcastError('invalid_config', '[jobcast] the public key is not a PEM public key or certificate: pass the file holding "-----BEGIN PUBLIC KEY-----"', {
        cause,
      })
    }
    const own = algorithmOf(key)
    return { key, algorithms: checkFamily(algorithms ?? [own], 'asymmetric', 'a public key') }
  }
  let jwks = options.jwks
  if (options.jwksFile !== undefined) {
    try {
      jwks = JSON.parse(readFileSync(options.jwksFile, 'utf8')) as JSONWebKeySet
    } catch (cause) {
      throw new JobcastError('invalid_config', `[jobcast] cannot read the JWKS file ${options.jwksFile}: it must hold JSON like {"keys":[…]}`, { cause })
    }
  }
  if (jwks === undefined || !Array.isArray((jwks as { keys?: unknown }).keys))
    throw new JobcastError('invalid_config', '[jobcast] the JWKS must be an object with a "keys" array')
  if (jwks.keys.some((k) => k.d !== undefined || k.kty === 'oct'))
    throw new JobcastError('invalid_config', '[jobcast] the JWKS holds private or symmetric keys: publish only public keys to the gateway')
  return { key: createLocalJWKSet(jwks), algorithms: checkFamily(algorithms ?? DEFAULT_JWKS_ALGORITHMS, 'asymmetric', 'a JWKS') }
}

function checkFamily(algorithms: readonly string[], family: 'HS' | 'asymmetric', what: string): readonly string[] {
  const ok = algorithms.length > 0 && algorithms.every((a) => (family === 'HS' ? /^HS(256|384|512)$/.test(a) : /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/.test(a)))
  if (!ok)
    throw new JobcastError('invalid_config', 
      `[jobcast] algorithms ${JSON.stringify(algorithms)} do not fit ${what}: use ${family === 'HS' ? 'HS256/HS384/HS512' : 'RS*, PS*, ES* or EdDSA'}`,
    )
  return Object.freeze([...algorithms])
}

function algorithmOf(key: KeyObject): string {
  const type = key.asymmetricKeyType
  if (type === 'rsa') return 'RS256'
  if (type === 'rsa-pss') return 'PS256'
  if (type === 'ed25519') return 'EdDSA'
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve === 'prime256v1') return 'ES256'
    if (curve === 'secp384r1') return 'ES384'
    if (curve === 'secp521r1') return 'ES512'
  }
  throw new JobcastError('invalid_config', `[jobcast] unsupported public key type ${type ?? 'unknown'}: use RSA, EC P-256/P-384/P-521 or Ed25519`)
}
