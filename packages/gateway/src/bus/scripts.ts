/**
 * The Lua scripts every producer runs with EVAL/EVALSHA, in any language. Each lives in one
 * file under `packages/gateway/lua/`, which the Node package, the PHP and the Python producers
 * all read: no copies. docs/protocol.md quotes them verbatim (a test checks).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A Lua script and its SHA-1 for EVALSHA. */
export interface LuaScript {
  readonly source: string
  readonly sha: string
}

/** `packages/gateway/lua`: two folders up from both `src/bus/` and `dist/bus/`. */
const SCRIPT_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lua')

/**
 * Reads `lua/<name>.lua`. A path, not `new URL(…, import.meta.url)`: bundlers and Vite's web
 * test environments rewrite that pattern into an asset URL.
 */
function readScript(name: string): LuaScript {
  const source = readFileSync(join(SCRIPT_FOLDER, `${name}.lua`), 'utf8')
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

/**
 * The atomic publish: assigns seq, refuses after a terminal event, stores the snapshot with
 * its TTL, publishes. Returns `{1, storedJson}` when published, `{0, currentJson}` when refused.
 */
export const PUBLISH: LuaScript = readScript('publish')

/**
 * Puts a job's last known event back after Redis lost it, only over an older, non-terminal
 * snapshot or none. Returns 1 when restored (stored and published), 0 when kept.
 */
export const RESTORE: LuaScript = readScript('restore')

/** Lua source of {@link PUBLISH}, for callers that load it themselves. */
export const PUBLISH_SCRIPT: string = PUBLISH.source
