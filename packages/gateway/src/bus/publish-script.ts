/**
 * The Lua scripts every producer runs with EVAL/EVALSHA, in any language. Each lives in one
 * file under `packages/gateway/lua/`, which the Node package, the PHP and the Python producers
 * all read: no copies. docs/protocol.md quotes the publish script verbatim (a test checks).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

/** Reads `lua/<name>.lua`: two folders up from both `src/bus/` and `dist/bus/`. */
function readScript(name: string): string {
  return readFileSync(new URL(`../../lua/${name}.lua`, import.meta.url), 'utf8')
}

/**
 * Lua source of the atomic publish. KEYS and ARGV are listed in its header.
 * Returns `{1, storedJson}` when published, `{0, currentJson}` when refused after a terminal event.
 */
export const PUBLISH_SCRIPT: string = readScript('publish')

/** SHA-1 of {@link PUBLISH_SCRIPT}, for EVALSHA. */
export const PUBLISH_SCRIPT_SHA: string = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex')
