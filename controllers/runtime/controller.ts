import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Informer, InformerEvent } from './informer.js';
import type { ControllerMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';

/** What a reconcile is about: a namespaced or cluster-scoped object's name, never the event that woke it. */
export interface ObjectKey {
  readonly namespace?: string;
  readonly name: string;
}

export const formatKey = (key: ObjectKey): string =>
  key.namespace ? `${key.namespace}/${key.name}` : key.name;

export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export interface ReconcileResult {
  /** Reconcile again after this long, for timed work (certificate renewal, waiting on a rollout). */
  readonly requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: ObjectKey, log: Logger): Promise<ReconcileResult | void>;
}

export interface ControllerOptions {
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly workers?: number;
}

/**
 * Feeds keys from informer events into a workqueue and runs the reconciler on them, level-based:
 * on error the key is retried with per-key backoff, on success its backoff is forgotten.
 */
export class Controller {
  readonly queue = new WorkQueue();
  private running: Promise<void>[] = [];

  constructor(
    readonly name: string,
    private readonly reconciler: Reconciler,
    private readonly options: ControllerOptions,
  ) {}

  enqueue(key: ObjectKey): void {
    this.queue.add(formatKey(key));
    this.options.metrics.queueDepth.set({ controller: this.name }, this.queue.length);
  }

  /** Maps every event of `informer` to the keys it concerns (the object itself, or its owner). */
  watch<T extends KubernetesObject>(
    informer: Informer<T>,
    toKeys: (obj: T, event: InformerEvent) => readonly ObjectKey[],
  ): void {
    informer.onEvent((event, obj) => {
      for (const key of toKeys(obj, event)) this.enqueue(key);
    });
  }

  start(): void {
    const workers = this.options.workers ?? 1;
    for (let i = 0; i < workers; i++) this.running.push(this.work());
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.options.metrics.queueDepth.set({ controller: this.name }, this.queue.length);
      await this.reconcileOne(key);
      this.queue.done(key);
    }
  }

  private async reconcileOne(key: string): Promise<void> {
    const { metrics } = this.options;
    const log = this.options.log.child({
      controller: this.name,
      key,
      reconcileID: randomBytes(8).toString('hex'),
    });
    const stopTimer = metrics.reconcileDuration.startTimer({ controller: this.name });
    try {
      const result = await this.reconciler.reconcile(parseKey(key), log);
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        this.queue.addAfter(key, result.requeueAfterMs);
        metrics.reconcileTotal.inc({ controller: this.name, result: 'requeue_after' });
      } else {
        metrics.reconcileTotal.inc({ controller: this.name, result: 'success' });
      }
    } catch (err) {
      const retryInMs = this.queue.addRateLimited(key);
      metrics.reconcileTotal.inc({ controller: this.name, result: 'error' });
      metrics.reconcileErrors.inc({ controller: this.name });
      log.error({ err, retryInMs }, 'reconcile failed');
    } finally {
      stopTimer();
    }
  }
}
