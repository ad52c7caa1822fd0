// Shared by the browser examples: an embedded gateway (in-memory bus, no Redis, open access
// for local use) with a `POST /start` route that runs a simulated export. Each example adds
// only the routes that serve its own page.
import { createGateway, createPublisher, openAuthorizer } from '@jobcast/gateway'

/**
 * Starts an embedded gateway on `port` (0 = any free port).
 * @param {{ port: number, stepMs: number, jobPrefix: string, pageRoutes: (app: import('hono').Hono) => void }} options
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startEmbeddedExample({ port, stepMs, jobPrefix, pageRoutes }) {
  let counter = 0
  const gateway = createGateway({
    authorizer: openAuthorizer, // a local demo: no tokens (the seed example shows secured mode)
    extraRoutes(app, { bus }) {
      const publisher = createPublisher({ bus })
      pageRoutes(app)
      app.post('/start', async (c) => {
        const jobId = `${jobPrefix}-${Date.now()}-${++counter}`
        await publisher.queued(jobId, { message: 'Queued' })
        void simulate(publisher, jobId, stepMs)
        return c.json({ jobId }, 202)
      })
    },
  })
  const { url } = await gateway.listen(port, '127.0.0.1')
  return { url, close: () => gateway.close() }
}

async function simulate(publisher, jobId, stepMs) {
  for (let p = 10; p < 100; p += 10) {
    await new Promise((resolve) => setTimeout(resolve, stepMs))
    await publisher.progress(jobId, p, { message: `Exported ${p * 10} of 1000 rows` })
  }
  await publisher.complete(jobId, { downloadUrl: `/downloads/${jobId}.csv` }, { message: 'Done' })
}
