/**
 * A controller workqueue with controller-runtime's guarantees:
 * - a key waiting in the queue is held once, however often it is added (deduplication);
 * - a key is never handed to two workers at once: added while processing, it is re-queued on `done`;
 * - per-key exponential backoff for failures (`addRateLimited`, 5 ms doubling to ~1000 s), reset by `forget`;
 * - delayed adds (`addAfter`) for timed work such as requeue-after; the earliest pending delay wins.
 */

export interface BackoffConfig {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffConfig = { baseDelayMs: 5, maxDelayMs: 1_000_000 };

/** The delay before retry number `failures` (0-based). Pure. */
export function backoffDelay(failures: number, config: BackoffConfig = DEFAULT_BACKOFF): number {
  return Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** Math.min(failures, 40));
}

export class WorkQueue<K extends string = string> {
  private readonly queue: K[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly timers = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly backoff: BackoffConfig = DEFAULT_BACKOFF) {}

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Re-adds a key after its backoff; each call without `forget` doubles the delay. */
  addRateLimited(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = backoffDelay(failures, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears a key's failure history, after a successful reconcile. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  failuresOf(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process; resolves `undefined` once the queue shuts down. */
  get(): Promise<K | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key processed; if it was added meanwhile it goes back in the queue. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
