const MAX_TIMER_MS = 2_147_483_647;

/** An item the schedule can hold; the schedule owns both fields. */
export interface Scheduled {
  heapIndex: number;
  dueAt: number;
}

/**
 * Runs items at their due time with one timer for all of them: a binary min-heap ordered by
 * `dueAt`, and a single `setTimeout` armed for the earliest item. No timer exists while the
 * schedule is empty.
 */
export class Schedule<T extends Scheduled> {
  readonly #heap: T[] = [];
  readonly #onDue: (item: T) => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(onDue: (item: T) => void) {
    this.#onDue = onDue;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `item` at `at` (epoch milliseconds), moving it if it was already scheduled. */
  schedule(item: T, at: number): void {
    item.dueAt = at;
    if (item.heapIndex === -1) {
      item.heapIndex = this.#heap.length;
      this.#heap.push(item);
    }
    this.#siftUp(item.heapIndex);
    this.#siftDown(item.heapIndex);
    this.#arm();
  }

  /** Removes `item` if it is scheduled. */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index === -1) {
      return;
    }
    const last = this.#heap.pop() as T;
    item.heapIndex = -1;
    if (last !== item) {
      this.#heap[index] = last;
      last.heapIndex = index;
      this.#siftUp(index);
      this.#siftDown(last.heapIndex);
    }
  }

  /** Stops the timer and forgets every item. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    for (const item of this.#heap) {
      item.heapIndex = -1;
    }
    this.#heap.length = 0;
  }

  #arm(): void {
    const first = this.#heap[0];
    const at = first === undefined ? Number.POSITIVE_INFINITY : first.dueAt;
    if (at === this.#timerAt) {
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at !== Number.POSITIVE_INFINITY) {
      const delay = Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS);
      this.#timer = setTimeout(this.#fire, delay);
    }
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let first = this.#heap[0];
    while (first !== undefined && first.dueAt <= now) {
      this.remove(first);
      this.#onDue(first);
      first = this.#heap[0];
    }
    this.#arm();
  };

  #siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.#at(parent) <= this.#at(index)) {
        return;
      }
      this.#swap(index, parent);
      index = parent;
    }
  }

  #siftDown(start: number): void {
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.#heap.length && this.#at(left) < this.#at(smallest)) {
        smallest = left;
      }
      if (right < this.#heap.length && this.#at(right) < this.#at(smallest)) {
        smallest = right;
      }
      if (smallest === index) {
        return;
      }
      this.#swap(index, smallest);
      index = smallest;
    }
  }

  #at(index: number): number {
    return (this.#heap[index] as T).dueAt;
  }

  #swap(a: number, b: number): void {
    const first = this.#heap[a] as T;
    const second = this.#heap[b] as T;
    this.#heap[a] = second;
    this.#heap[b] = first;
    first.heapIndex = b;
    second.heapIndex = a;
  }
}
