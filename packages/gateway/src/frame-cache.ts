/**
 * Outgoing frames are built once per event and shared: the bus parses each message into one
 * {@link BusEvent} object handed to every watcher, so a cache keyed by that object turns
 * "serialize per subscriber" into "serialize per event" (issue 2, "Efficiency").
 */
import type { BusEvent } from './bus/bus.js'

/**
 * Memoizes one serialized frame per BusEvent, so a frame is built once per event and shared
 * by every subscriber of every connection.
 * @example const wsFrame = frameCache((m) => `{"type":"job","job":${m.json}}`)
 */
export function frameCache<T>(build: (message: BusEvent) => T): (message: BusEvent) => T {
  const cache = new WeakMap<BusEvent, T>()
  return (message) => {
    let frame = cache.get(message)
    if (frame === undefined) {
      frame = build(message)
      cache.set(message, frame)
    }
    return frame
  }
}
