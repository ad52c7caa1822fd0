#!/usr/bin/env node
// Serves index.html, the client's IIFE bundle and a /start route that runs a simulated job,
// on an embedded gateway (no Redis needed). Run: npm run build && node examples/html-iife/serve.mjs
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startEmbeddedExample } from '../embedded-gateway.mjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))

/** Where the client's IIFE bundle is built (`npm run build`). */
export function iifePath() {
  const pkg = createRequire(import.meta.url).resolve('@jobcast/client/package.json')
  return fileURLToPath(new URL('./dist/jobcast.iife.js', pathToFileURL(pkg)))
}

/**
 * Starts the example on `port` (0 = any free port).
 * @param {{ port?: number, stepMs?: number }} [options]
 */
export async function startHtmlExample({ port = 3031, stepMs = 150 } = {}) {
  const [html, iife] = await Promise.all([
    readFile(here('./index.html'), 'utf8'),
    readFile(iifePath(), 'utf8').catch(() => {
      throw new Error('[jobcast] the client bundle is missing: run `npm run build` first')
    }),
  ])
  return startEmbeddedExample({
    port,
    stepMs,
    jobPrefix: 'html-export',
    pageRoutes(app) {
      app.get('/', (c) => c.html(html))
      app.get('/jobcast.js', (c) => c.body(iife, 200, { 'content-type': 'text/javascript; charset=utf-8' }))
    },
  })
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url } = await startHtmlExample({ port: Number(process.env.PORT ?? 3031) })
  console.log(`plain HTML example on ${url} — open it and press "Export CSV"`)
}
