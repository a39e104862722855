/** What a proxy needs after a change: a whole new snapshot, or only new endpoints. */
export type PushKind = 'full' | 'endpoints';

interface Pending {
  kind: PushKind;
  /** When the oldest change this push carries happened (for convergence time). */
  changedAt: number;
}

/**
 * Istio's push queue, in small: after a change every proxy is marked as needing a push, and the
 * pushes go out `batch` at a time, one batch per event-loop turn. Translating for 2,000 proxies in
 * one go would block the loop for seconds, and with it ACKs, new connections and certificate
 * requests. A proxy marked again before its turn is pushed once: a full push absorbs an endpoints one,
 * and it keeps the oldest change time. The push itself reads the latest snapshot when the proxy's
 * turn comes, so a newer change supersedes an older one still queued.
 */
export class PushQueue {
  private readonly pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(
    private readonly batch: number,
    private readonly pushOne: (id: string, kind: PushKind, changedAt: number) => void,
    private readonly schedule: (run: () => void) => void = (run) => setImmediate(run),
  ) {
    if (!Number.isInteger(batch) || batch < 1)
      throw new Error(`push batch must be a positive integer, not ${batch}`);
  }

  get size(): number {
    return this.pending.size;
  }

  enqueue(ids: Iterable<string>, kind: PushKind, changedAt: number): void {
    for (const id of ids) {
      const prior = this.pending.get(id);
      if (!prior) this.pending.set(id, { kind, changedAt });
      else {
        if (kind === 'full') prior.kind = 'full';
        prior.changedAt = Math.min(prior.changedAt, changedAt);
      }
    }
    this.wake();
  }

  /** Forgets a proxy (it disconnected): nothing is pushed to it. */
  remove(id: string): void {
    this.pending.delete(id);
  }

  clear(): void {
    this.pending.clear();
  }

  private wake(): void {
    if (this.scheduled || this.pending.size === 0) return;
    this.scheduled = true;
    this.schedule(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    let n = 0;
    for (const [id, p] of this.pending) {
      if (n++ === this.batch) break;
      this.pending.delete(id);
      this.pushOne(id, p.kind, p.changedAt);
    }
    this.wake();
  }
}
