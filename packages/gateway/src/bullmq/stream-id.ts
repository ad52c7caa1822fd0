/** Redis stream ids (`<ms>-<seq>`), compared as Redis orders them. */

/** Negative when `a` comes before `b`, 0 when equal, positive after. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt)
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt)
  if (aMs !== bMs) return aMs < bMs ? -1 : 1
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1
}

/**
 * The time of a stream id, in ms since the epoch: the `ts` of the event the bridge publishes for
 * that entry, so an entry published again (after a crash between publishing and saving the
 * cursor) is byte-identical and the publish script answers it without publishing twice.
 */
export function streamIdTime(streamId: string): number {
  const dash = streamId.indexOf('-')
  const ms = Number(dash < 0 ? streamId : streamId.slice(0, dash))
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : 0
}
