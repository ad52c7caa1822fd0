#!/usr/bin/env node
// Bundles app.jsx with esbuild (the project's own tooling, nothing downloaded) and serves it
// on an embedded gateway with a /start route that runs a simulated job.
// Run: npm run build && node examples/react/serve.mjs
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { startEmbeddedExample } from '../embedded-gateway.mjs'

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>jobcast · React</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}</style></head>
<body><div id="root"></div><script type="module" src="/app.js"></script></body></html>`

/**
 * Bundles the page's script.
 * @param {{ development?: boolean }} [options] development keeps React's StrictMode double mount
 */
export async function bundleReactApp({ development = true } = {}) {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./app.jsx', import.meta.url))],
    bundle: true,
    format: 'esm',
    jsx: 'automatic',
    write: false,
    minify: !development,
    define: { 'process.env.NODE_ENV': JSON.stringify(development ? 'development' : 'production') },
    logLevel: 'silent',
  })
  return result.outputFiles[0].text
}

/**
 * Starts the example on `port` (0 = any free port).
 * @param {{ port?: number, stepMs?: number }} [options]
 */
export async function startReactExample({ port = 3032, stepMs = 150 } = {}) {
  const script = await bundleReactApp()
  return startEmbeddedExample({
    port,
    stepMs,
    jobPrefix: 'react-export',
    pageRoutes(app) {
      app.get('/', (c) => c.html(PAGE))
      app.get('/app.js', (c) => c.body(script, 200, { 'content-type': 'text/javascript; charset=utf-8' }))
    },
  })
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url } = await startReactExample({ port: Number(process.env.PORT ?? 3032) })
  console.log(`React example on ${url} — open it and press "Export CSV"`)
}
