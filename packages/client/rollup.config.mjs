// Bundles of @jobcast/client: ESM + CJS for bundlers and Node, a minified IIFE (`window.Jobcast`)
// for a plain <script>. Types come from `tsc -b` (dist/types). The optional `element` and
// `react` entry points are built when their sources exist.
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import resolve from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import { transform } from 'esbuild'
import esbuild from 'rollup-plugin-esbuild'

/** Budget of the IIFE, min+gzip, in bytes (issue 3). */
const BUDGET = Number(process.env.JOBCAST_BUDGET_OVERRIDE) || 5120

const external = ['react', 'react/jsx-runtime', 'react-dom', /^eventsource-parser/, /^@jobcast\/client/]

/**
 * For bundles that inline eventsource-parser (the IIFE, jobcast-element.js): the client passes
 * neither `maxBufferSize`, `onError` nor `onRetry` and never calls `reset()`, so the parser's
 * buffer cap (the length it keeps, the `terminated` state it sets), `reset` and its
 * `ParseError`s are dead code (errors built only to be handed to a no-op). Saying so lets
 * terser drop them without changing behaviour. Fails loudly if a parser update moves the text.
 */
const trimParser = () => ({
  name: 'jobcast-trim-parser',
  transform(code, id) {
    if (!/[\\/]eventsource-parser[\\/]dist[\\/]index\.js$/.test(id)) return null
    const from = 'const { onEvent = noop, onError = noop, onRetry = noop, onComment, maxBufferSize } = config'
    const terminatedCheck = /if \(terminated\)\s*throw new Error\(\s*"Cannot feed parser[^"]*"\s*\);/
    const returned = 'return { feed, reset };'
    // Writes of the buffered length; the declaration stays and terser drops it once unread.
    const lengthWrites = /(?<!let )pendingFragmentsLength \+?= /g
    // processLines() has a second loop for chunks without a CR, a speed-up for large streams
    // that reads the same lines, fields and events as the general loop below it (which
    // handles LF, CR and CRLF alike). The client's streams are a few small events and pings.
    const lfOnlyLoop = 'if (chunk.indexOf("\\r") === -1) {'
    // parseLine() reads `data:`, `event:` and `id:` lines by char codes before its general
    // field split, and feed() has shortcuts for no pending fragment and for a chunk without a
    // line end: speed-ups that store the same fields and keep the same fragments as the general
    // path after them (processField, join then processLines).
    const lineShortcuts = [
      'if (isDataPrefix(chunk, start, firstCharCode)) {',
      'if (isEventPrefix(chunk, start, firstCharCode)) {',
      'if (firstCharCode === 105 && chunk.charCodeAt(start + 1) === 100 && chunk.charCodeAt(start + 2) === 58) {',
    ]
    const feedShortcuts = [', pendingFragments.length === 0) {', 'if (chunk.indexOf(`\n`) === -1 && chunk.indexOf("\\r") === -1) {']
    if (!code.includes(from) || code.split(lfOnlyLoop).length != 2 || !code.includes(returned) || !code.includes('new ParseError(') || !code.includes('onError(') || !terminatedCheck.test(code) || !lengthWrites.test(code) || ![...lineShortcuts, ...feedShortcuts].every((shortcut) => code.split(shortcut).length == 2))
      this.error(`[jobcast] eventsource-parser changed: update trimParser() in packages/client/rollup.config.mjs (or remove it)`)
    return code
      .replace(from, 'const { onEvent = noop, onComment } = config, onRetry = noop, maxBufferSize = void 0')
      .replace(terminatedCheck, '')
      .replace(returned, 'return { feed };')
      .replace(lfOnlyLoop, 'if (false) {')
      .replace(lineShortcuts[0], 'if (false) {')
      .replace(lineShortcuts[1], 'if (false) {')
      .replace(lineShortcuts[2], 'if (false) {')
      .replace(feedShortcuts[0], ', false) {')
      .replace(feedShortcuts[1], 'if (false) {')
      .replaceAll(lengthWrites, '')
      // Its argument (a ParseError and its message) is built only to be handed to the no-op.
      .replaceAll('onError(', '(0 && ')
  },
})
const plugins = (trim = false) => [
  ...(trim ? [trimParser()] : []),
  resolve({ browser: true }),
  esbuild({ target: 'es2022', tsconfig: 'tsconfig.json' }),
]

/** Prints the min+gzip size of each emitted chunk and fails the build past the budget. */
const size = (budget) => ({
  name: 'jobcast-size',
  generateBundle(_, bundle) {
    for (const f of Object.values(bundle)) {
      if (f.type !== 'chunk') continue
      const gz = gzipSync(f.code, { level: 9 }).length
      console.log(`[jobcast] ${f.fileName}: ${f.code.length} B min, ${gz} B min+gzip${budget < Infinity ? ` (budget ${budget} B)` : ""}`)
      if (gz > budget) this.error(`[jobcast] ${f.fileName} is ${gz} B min+gzip, over the ${budget} B budget: trim the client or move code to a subpath entry`)
    }
  },
})

/**
 * Shortens the internal property names (ending in `_`, see `minify`) in the ESM and CJS
 * outputs too, leaving the rest of the code as it is: a bundler's minifier keeps property
 * names, so without this every app would ship them in full. One cache for every chunk, filled
 * one chunk at a time, so a name is shortened alike wherever it appears.
 */
const mangleCache = {}
let mangling = Promise.resolve()
const shortenInternalNames = () => ({
  name: 'jobcast-internal-names',
  renderChunk(code) {
    const result = mangling.then(() => transform(code, { loader: 'js', sourcemap: true, mangleProps: /_$/, mangleCache }))
    mangling = result.then((done) => Object.assign(mangleCache, done.mangleCache))
    return result.then((done) => ({ code: done.code, map: done.map }))
  },
})

// Shared chunks get stable names; old ones must not pile up.
rmSync('dist/chunks', { recursive: true, force: true })

// Declarations for `require` (the `exports` map's `require.types`): the same files under a
// `{"type":"commonjs"}` folder. With only dist/types, which this ESM package marks as ESM, a
// TypeScript project compiling to CommonJS gets TS1479 for `import … from '@jobcast/client'`
// even though dist/index.cjs works.
rmSync('dist/types-cjs', { recursive: true, force: true })
cpSync('dist/types', 'dist/types-cjs', { recursive: true, filter: (f) => !f.endsWith('.map') })
writeFileSync('dist/types-cjs/package.json', '{ "type": "commonjs" }\n')

const entries = { index: 'src/index.ts' }
for (const sub of ['element', 'react']) if (existsSync(`src/${sub}/index.ts`)) entries[sub] = `src/${sub}/index.ts`

// For the IIFE only (`tight`): `booleans_as_integers` is safe for the core (no boolean reaches a
// string or a strict comparison), not for the element, whose DOM code may stringify booleans;
// `unsafe_arrows` holds because nothing in the core or eventsource-parser is called with `new`
// or reads `arguments`. Not `toplevel` (it drops the unused-looking `var Jobcast=`), not
// `unsafe_comps` (it would turn the job tracker's `!(event.seq > job.cursor_)` into
// `event.seq <= job.cursor_`, letting an event without a numeric seq through).
//
// Property names: a name ending in `_` (`cursor_`, `subscribe_`) is internal to the package and
// terser shortens it, so the source keeps full names at no cost in bytes. Such a name must never
// cross the package boundary: not in options, wire frames, JSON, or anything a user reads.
const minify = (tight = false) =>
  terser({
    ecma: 2020,
    compress: { passes: 5, pure_getters: true, unsafe: true, booleans_as_integers: tight, unsafe_arrows: tight },
    mangle: { properties: { regex: /_$/ } },
    format: { comments: false },
  })

export default [
  {
    input: entries,
    external,
    plugins: plugins(),
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js', sourcemap: true, plugins: [shortenInternalNames()] },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name].cjs', sourcemap: true, plugins: [shortenInternalNames()] },
    ],
  },
  {
    // The IIFE leaves out the `is*Error` guards: in one page `instanceof Jobcast.JobFailedError` works.
    input: 'src/iife.ts',
    plugins: plugins(true),
    output: { file: 'dist/jobcast.iife.js', format: 'iife', name: 'Jobcast', strict: false, plugins: [minify(true), size(BUDGET)] },
  },
  // A self-contained module of the custom element for pages without a bundler (the demo serves
  // it): core and eventsource-parser inlined. Its size is printed, not budgeted.
  ...(entries.element
    ? [{ input: entries.element, plugins: plugins(true), output: { file: 'dist/jobcast-element.js', format: 'es', plugins: [minify(), size(Infinity)] } }]
    : []),
]
