/**
 * Outgoing frames are built once per event and shared: the bus parses each message into one
 * {@link BusEvent} object handed to every watcher, so a cache keyed by that object turns
 * "serialize per subscriber" into "serialize per event" (issue 2, "Efficiency").
 */
import type { BusEvent } from './bus/bus.js'

/**
 * Memoizes the serialized frame of the last BusEvent seen, so a frame is built once per event
 * and shared by every subscriber of every connection. One entry is enough: the hub hands an
 * event to all of its watchers in one synchronous loop, so their calls come back to back.
 * A WeakMap would also keep the frame of every retained snapshot alive (bench/README.md).
 * @example const wsFrame = frameCache((m) => `{"type":"job","job":${m.json}}`)
 */
export function frameCache<T>(build: (message: BusEvent) => T): (message: BusEvent) => T {
  let last: BusEvent | undefined
  let frame: T | undefined
  return (message) => {
    if (message !== last) {
      frame = build(message)
      last = message
    }
    return frame as T
  }
}
