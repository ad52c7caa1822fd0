import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, not dist, so a stale build never hides a bug.
    alias: [
      { find: /^@jobcast\/gateway$/, replacement: src('./packages/gateway/src/index.ts') },
      { find: /^@jobcast\/gateway\/publisher$/, replacement: src('./packages/gateway/src/publisher.ts') },
      { find: /^@jobcast\/client$/, replacement: src('./packages/client/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep parallelism modest so timing-sensitive socket tests stay honest.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
