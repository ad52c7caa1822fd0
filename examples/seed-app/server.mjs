#!/usr/bin/env node
// The seed pattern: your app's backend enqueues a job, mints a token for it and answers
// 202 Accepted with the job id; the page then follows the job on the jobcast gateway.
// Run: JOBCAST_REDIS_URL=redis://127.0.0.1:6379 JOBCAST_SECRET=… node examples/seed-app/server.mjs
import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { Redis } from 'ioredis'
import { signJobToken } from '@jobcast/gateway'
import { createPublisher } from '@jobcast/gateway/publisher'

/** The Redis list the worker example takes export requests from. */
export const QUEUE_KEY = 'jobcast-example:exports'

/**
 * The app: `POST /exports` → 202 `{ jobId, token?, gateway }`.
 * @param {{ redis: import('ioredis').Redis, publisher: import('@jobcast/gateway/publisher').Publisher, secret?: string, gatewayUrl: string }} deps
 */
export function createSeedApp({ redis, publisher, secret, gatewayUrl }) {
  const app = new Hono()
  app.post('/exports', async (c) => {
    const body = await c.req.json().catch(() => ({}))
    const rows = Number.isInteger(body.rows) && body.rows > 0 ? body.rows : 1000
    const jobId = `export-${randomUUID()}`
    // Publish `queued` before answering, so the page finds the job at once.
    await publisher.queued(jobId, { message: 'Waiting for a worker' })
    await redis.lpush(QUEUE_KEY, JSON.stringify({ jobId, rows }))
    // Without a secret the gateway runs open (development): no token to mint.
    const token = secret ? await signJobToken({ jobs: [jobId], expiresIn: '15m', secret }) : undefined
    c.header('Location', `${gatewayUrl}/v1/jobs/${jobId}`)
    return c.json({ jobId, ...(token ? { token } : {}), gateway: gatewayUrl }, 202)
  })
  return app
}

/**
 * Starts the app on `port` (0 = any free port).
 * @param {{ redisUrl: string, secret?: string, gatewayUrl: string, port?: number, prefix?: string }} options
 */
export async function startSeedApp({ redisUrl, secret, gatewayUrl, port = 0, prefix }) {
  const redis = new Redis(redisUrl)
  redis.on('error', () => {}) // ioredis retries; commands fail with their own error meanwhile
  const publisher = createPublisher({ redis, ...(prefix ? { prefix } : {}) })
  const app = createSeedApp({ redis, publisher, secret, gatewayUrl })
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const address = server.address()
  return {
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      await new Promise((resolve) => server.close(() => resolve()))
      await publisher.close()
      redis.disconnect()
    },
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await startSeedApp({
    redisUrl: process.env.JOBCAST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    secret: process.env.JOBCAST_SECRET,
    gatewayUrl: process.env.JOBCAST_GATEWAY_URL ?? 'http://127.0.0.1:3030',
    port: Number(process.env.PORT ?? 3000),
    prefix: process.env.JOBCAST_PREFIX,
  })
  console.log(`seed app on ${app.url}: curl -i -X POST ${app.url}/exports`)
}
