import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'

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
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep parallelism modest so timing-sensitive socket tests stay honest.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // The chaos run loads both cores with its own processes for about a minute: it runs alone,
    // after everything else, so neither it nor the timing-sensitive socket tests skew the other.
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/chaos/chaos.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: 'chaos', include: ['test/chaos/chaos.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
})
