/** Something the gateway must end on shutdown: an SSE stream or a WebSocket. */
export interface Closable {
  /** End it now (shutdown): SSE streams end, WebSockets close with 1012. */
  shutdown(): void
}

/**
 * The live connections of one gateway, so `close()` can end them all. Each connection
 * adds itself when it opens and removes itself when it ends, whoever ends it.
 */
export class ConnectionRegistry {
  readonly #items = new Set<Closable>()
  #closing = false

  /** True once shutdown began: new connections are refused with 503 `shutting_down`. */
  get closing(): boolean {
    return this.#closing
  }

  /** Number of live connections. */
  get size(): number {
    return this.#items.size
  }

  /**
   * Register a connection; returns its removal function. A connection that was accepted
   * before shutdown began but registers after it (an SSE stream whose authorization was in
   * flight, a WebSocket mid-handshake) is shut down at once, not left to the shutdown bound.
   */
  add(item: Closable): () => void {
    if (this.#closing) {
      queueMicrotask(() => {
        try {
          item.shutdown()
        } catch {
          // as in shutdownAll
        }
      })
    }
    this.#items.add(item)
    return () => {
      this.#items.delete(item)
    }
  }

  /** Remove a connection added with {@link add} (no-op when absent). */
  delete(item: Closable): void {
    this.#items.delete(item)
  }

  /** Begin shutdown: refuse new connections and end every live one. */
  shutdownAll(): void {
    this.#closing = true
    for (const item of [...this.#items]) {
      try {
        item.shutdown()
      } catch {
        // one connection failing to end must not keep the others open
      }
    }
  }
}
