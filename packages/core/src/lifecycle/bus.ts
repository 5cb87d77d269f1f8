import type { RevocationBus, RevocationMessage, RevocationSubscriber } from './types.js';

/**
 * Delivers revocations to the servers of one process. Each server gets its own bus unless
 * several are given the same instance.
 */
export class InProcessBus implements RevocationBus {
  readonly #subscribers = new Set<RevocationSubscriber>();

  async publish(message: RevocationMessage): Promise<void> {
    for (const subscriber of [...this.#subscribers]) {
      subscriber.revoke(message);
    }
  }

  subscribe(subscriber: RevocationSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }
}
