/**
 * createRedisConnections over TLS to a real redis-server with a private CA: `rediss://` or the
 * `tls` setting turn it on, the server certificate is verified, and both connections work.
 */
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisConnections } from '../../packages/gateway/src/bus/redis-connection.js'
import type { RedisConnectionSettings } from '../../packages/gateway/src/bus/redis-settings.js'
import { killOnExit, stopChild, waitReady } from '../support/redis.js'
import { distinctFreePorts, makeTempDir, removeTempDir, waitUntil } from '../support/redis-topology.js'

/** A CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(directory: string): { ca: string; cert: string; key: string } {
  const file = (name: string) => join(directory, name)
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=jobcast test CA'])
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext'])
  return { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') }
}

describe('createRedisConnections over TLS', () => {
  let directory: string
  let tlsPort: number
  let ca: string
  let stop: () => Promise<void>
  beforeAll(async () => {
    directory = makeTempDir('tls')
    const files = makeCertificates(directory)
    ca = readFileSync(files.ca, 'utf8')
    const [plainPort, port] = (await distinctFreePorts(2)) as [number, number]
    tlsPort = port
    const child = killOnExit(
      spawn(
        'redis-server',
        ['--port', String(plainPort), '--tls-port', String(tlsPort), '--bind', '127.0.0.1', '--tls-cert-file', files.cert, '--tls-key-file', files.key, '--tls-ca-cert-file', files.ca, '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      ),
    )
    // Readiness over the plain port; the tests use only the TLS one.
    await waitReady(plainPort, child)
    stop = async () => {
      await stopChild(child, 'SIGKILL')
      removeTempDir(directory)
    }
  })
  afterAll(() => stop?.())

  async function roundTrip(settings: RedisConnectionSettings): Promise<string> {
    const connections = createRedisConnections(settings, { redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null } })
    const errors: string[] = []
    for (const client of [connections.command, connections.subscriber]) client.on('error', (error: Error) => errors.push(error.message))
    try {
      const received: string[] = []
      connections.subscriber.on('message', (_: string, message: string) => received.push(message))
      await connections.subscriber.subscribe('jobcast:job:{tls}')
      await connections.command.set('jobcast:job:{tls}', 'snapshot')
      await connections.command.publish('jobcast:job:{tls}', 'event')
      await waitUntil('the message over TLS', async () => received.length === 1, 5_000)
      return `${await connections.command.get('jobcast:job:{tls}')} ${received.join()}`
    } catch (error) {
      return `failed: ${String(error)} ${errors.join(' | ')}`
    } finally {
      connections.close()
    }
  }

  it('connects with rediss:// and the CA, or with the tls setting', async () => {
    expect(await roundTrip({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca } })).toBe('snapshot event')
    expect(await roundTrip({ url: `redis://127.0.0.1:${tlsPort}`, tls: { ca } })).toBe('snapshot event')
  })

  it('verifies the server certificate: without the CA the connection is refused', async () => {
    expect(await roundTrip({ url: `rediss://127.0.0.1:${tlsPort}` })).toMatch(/^failed: .*self[- ]signed certificate/)
  })
})
