/**
 * A per-scope wait queue ordered by priority (higher first), then arrival (FIFO).
 *
 * A sorted array: insertion is a binary search plus a splice, the head is index 0. Queues are
 * bounded by `maxQueue` (1000 by default), where this beats a heap on both simplicity and the
 * removal of an arbitrary (aborted) entry.
 *
 * @module
 */

/** What the queue needs to know about an entry. */
export interface QueueEntry {
  /** Higher is served first. */
  readonly priority: number;
  /** Arrival order; strictly increasing per queue. */
  readonly seq: number;
}

/** True when `a` must be served before `b`. */
export function before(a: QueueEntry, b: QueueEntry): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

/** Priority-then-FIFO queue. */
export class WaitQueue<T extends QueueEntry> {
  private readonly items: T[] = [];

  /** Number of entries. */
  get size(): number {
    return this.items.length;
  }

  /** The entry to serve next, if any. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Insert in order. */
  push(entry: T): void {
    const items = this.items;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(items[mid] as T, entry)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === items.length) items.push(entry);
    else items.splice(lo, 0, entry);
  }

  /** Remove and return the head. */
  shift(): T | undefined {
    return this.items.shift();
  }

  /** Remove one entry (by identity); false if it was not queued. */
  remove(entry: T): boolean {
    const i = this.items.indexOf(entry);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Whether the entry is queued. */
  has(entry: T): boolean {
    return this.items.includes(entry);
  }

  /** Entries in service order (a copy). */
  toArray(): T[] {
    return this.items.slice();
  }

  /** Remove and return every entry, in service order. */
  drain(): T[] {
    return this.items.splice(0, this.items.length);
  }
}
