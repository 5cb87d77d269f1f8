/** A listener for one event type. */
export type Listener<T> = (event: T) => void;

/** A minimal typed event emitter that works the same in browsers and Node. */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener and returns a function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const remove = this.on(type, (event) => {
      remove();
      listener(event);
    });
    return remove;
  }

  /** Removes a listener. */
  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  /** Calls every listener of `type`; returns the errors listeners threw. */
  protected emit<K extends keyof Events>(type: K, event: Events[K]): unknown[] {
    const errors: unknown[] = [];
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(event);
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }
}
