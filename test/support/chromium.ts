/**
 * Launch Debian's Chromium through playwright-core for the browser suites.
 * Browser downloads cannot work on this machine, so the system binary is used.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Where Chromium is looked for; `JOBCAST_CHROMIUM` overrides it. @default '/usr/bin/chromium' */
export const CHROMIUM_PATH = process.env.JOBCAST_CHROMIUM ?? '/usr/bin/chromium'

/** Flags that keep a headless Chromium quiet and small on a shared 2-core machine. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Starts a headless Chromium; the caller closes it (`await browser.close()`). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`[jobcast] chromium not found: apt-get install -y chromium (or set JOBCAST_CHROMIUM to its path)`)
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] })
}
