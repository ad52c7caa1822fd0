/**
 * The published shape (needs `npm run build`): the `exports` map resolves for `import` and
 * `require`, the subpaths too, and TypeScript finds declarations in both module systems.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../../..')
const node = (code: string) => execFileSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' }).trim()

describe('package exports (dist/)', () => {
  it('import() and require() load the same API; ./element and ./react resolve; React is not in the core', () => {
    const esm = node(`import('@jobcast/client').then((m) => console.log(Object.keys(m).sort().join()))`)
    const cjs = node(`console.log(Object.keys(require('@jobcast/client')).sort().join())`)
    expect(esm).toBe(cjs)
    expect(esm.split(',')).toEqual(expect.arrayContaining(['createClient', 'waitForJob', 'JobFailedError', 'isTerminal']))
    expect(node(`import('@jobcast/client/react').then((m) => console.log(Object.keys(m).join()))`)).toBe('useJob')
    expect(node(`console.log(Object.keys(require('@jobcast/client/element')).sort().join())`)).toContain('defineJobcastProgress')
    expect(node(`require('@jobcast/client'); console.log(Object.keys(require.cache).some((f) => /[\\\\/]react[\\\\/]/.test(f)))`)).toBe('false')
  })

  it('TypeScript projects compiling to CommonJS and to ESM both get the types', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobcast-types-'))
    try {
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
      const use = `const c = createClient({ url: 'http://gw' })\nexport const p: Promise<JobEvent> = c.waitForJob('a')\nexport { useJob }\n`
      const imports = `import { createClient, type JobEvent } from '@jobcast/client'\nimport { useJob } from '@jobcast/client/react'\n`
      writeFileSync(join(dir, 'cjs.cts'), imports + use)
      writeFileSync(join(dir, 'esm.mts'), imports + use)
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
      const args = ['--module', 'node16', '--moduleResolution', 'node16', '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', 'cjs.cts', 'esm.mts']
      let out = ''
      try {
        execFileSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' })
      } catch (e) {
        out = String((e as { stdout?: string }).stdout)
      }
      expect(out).toBe('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
