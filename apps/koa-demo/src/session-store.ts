/**
 * An in-memory koa-session store. It is an external store (not a cookie session), so that
 * logout destroys the session on the server and tests can count what it holds.
 */
export class MemorySessionStore {
  readonly #sessions = new Map<string, { data: unknown; expiresAt: number }>();

  /** Number of sessions held, expired ones included until they are read. */
  get size(): number {
    return this.#sessions.size;
  }

  async get(key: string): Promise<unknown> {
    const entry = this.#sessions.get(key);
    if (entry === undefined) {
      return undefined;
    }
    if (entry.expiresAt <= Date.now()) {
      this.#sessions.delete(key);
      return undefined;
    }
    return entry.data;
  }

  /**
   * Stores `data` for `maxAge` milliseconds. For a browser-session cookie koa-session passes
   * `'session'`, and the entry is then kept for a day.
   */
  async set(key: string, data: unknown, maxAge: number | 'session' | undefined): Promise<void> {
    const ttl = typeof maxAge === 'number' ? maxAge : 24 * 60 * 60 * 1000;
    this.#sessions.set(key, { data, expiresAt: Date.now() + ttl });
  }

  async destroy(key: string): Promise<void> {
    this.#sessions.delete(key);
  }
}
