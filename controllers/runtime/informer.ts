import {
  makeInformer,
  type Informer as ClientInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay } from './workqueue.js';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions<T extends KubernetesObject> {
  /** A short name for logs and metrics, e.g. "deployments". */
  readonly name: string;
  /** The watch path, e.g. /apis/apps/v1/deployments. */
  readonly path: string;
  /** Lists the objects; must apply the same label selector as `labelSelector`. */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly log: Logger;
}

/**
 * A shared cache of one kind, fed by client-node's ListWatch: list, then watch from the list's
 * resourceVersion, relist on 410 Gone. ListWatch stops on any other error; this restarts it with
 * exponential backoff and keeps serving the last cache meanwhile, so controllers read stale-but-whole
 * state rather than none.
 */
export class Informer<T extends KubernetesObject> {
  private readonly inner: ClientInformer<T> & ObjectCache<T>;
  private readonly handlers: ((event: InformerEvent, obj: T) => void)[] = [];
  private failures = 0;
  private stopped = false;
  private synced = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: InformerOptions<T>,
  ) {
    this.inner = makeInformer(kc, options.path, options.list, options.labelSelector);
    for (const event of ['add', 'update', 'delete'] as const) {
      this.inner.on(event, (obj: T) => this.handlers.forEach((h) => h(event, obj)));
    }
    this.inner.on('error', (err: unknown) => this.restartLater(err));
  }

  onEvent(handler: (event: InformerEvent, obj: T) => void): void {
    this.handlers.push(handler);
  }

  /** Lists and starts watching; resolves once the cache holds a complete list. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.inner.start();
    this.synced = true;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  private restartLater(err: unknown): void {
    if (this.stopped) return;
    const delay = Math.min(backoffDelay(this.failures++) * 20, 30_000);
    this.options.log.warn(
      { informer: this.options.name, err: err instanceof Error ? err.message : err, retryInMs: delay },
      'watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.inner.start().then(
        () => (this.failures = 0),
        (e: unknown) => this.restartLater(e),
      );
    }, delay);
    this.restartTimer.unref();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.inner.list(namespace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.inner.stop();
  }
}
