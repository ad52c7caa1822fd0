// @ts-check
/**
 * mulberry32: a tiny seeded PRNG, so a failing randomized run (the fuzz suite, the chaos plan)
 * can be replayed exactly from its seed. Plain JavaScript so the chaos run's child processes
 * can load it without a compiler.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function seededRandom(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
