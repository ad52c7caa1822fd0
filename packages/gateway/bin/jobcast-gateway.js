#!/usr/bin/env node
// The `jobcast-gateway` bin. It exists before the build so npm links it at install time
// (npm skips bins whose target is missing); the CLI itself is compiled to dist/cli.js.
import('../dist/cli.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    console.error('[jobcast] the gateway is not built yet: run `npm run build` (or `npm start`) first')
    process.exit(1)
  }
  throw error
})
