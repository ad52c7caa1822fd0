/** The `--poll-rate` and `--subscribe-rate` values of the CLI and environment (pure). */

/**
 * Parses `--poll-rate`: `<per-second>` or `<per-second>:<burst>` (`20`, `5:10`, `0.5:3`, `0` = off).
 * Throws a `[jobcast]` error otherwise.
 */
export function parsePollRate(text: string): { pollRatePerSec: number; pollBurst: number } {
  const { rate, burst } = parseRate(text, '--poll-rate', '20:40')
  return { pollRatePerSec: rate, pollBurst: burst }
}

/** Parses `--subscribe-rate` like {@link parsePollRate} (`50`, `50:500`, `0` = off). */
export function parseSubscribeRate(text: string): { subscribeRatePerSec: number; subscribeBurst: number } {
  const { rate, burst } = parseRate(text, '--subscribe-rate', '50:500')
  return { subscribeRatePerSec: rate, subscribeBurst: burst }
}

function parseRate(text: string, flag: string, example: string): { rate: number; burst: number } {
  const match = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(text.trim())
  if (match === null) throw new Error(`[jobcast] ${flag} "${text}" is not a rate: use <per second>[:<burst>], e.g. ${example}`)
  const rate = Number(match[1])
  return { rate, burst: match[2] === undefined ? Math.max(1, Math.ceil(rate * 2)) : Number(match[2]) }
}

