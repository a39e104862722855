import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { statusCodeOf } from './apply.js';

export interface LeaderElectionConfig {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/**
 * A Lease's MicroTime (RFC 3339 with microseconds). client-node would serialise a Date with
 * milliseconds, which the API server refuses for MicroTime fields, so times are passed as strings.
 */
export function microTime(date: Date | string | undefined): Date | undefined {
  if (date === undefined) return undefined;
  const iso = new Date(date).toISOString();
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

/** Whether a lease held by someone else may be taken, judged by when *we* last saw it change. Pure. */
export function leaseExpired(observedChangeAt: number, leaseDurationMs: number, now: number): boolean {
  return observedChangeAt + leaseDurationMs < now;
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: try to acquire or renew every
 * retry period; writes use the Lease's resourceVersion, so two candidates never both win; a holder that
 * cannot renew within the renew deadline gives up leadership. Expiry is judged from the local time at
 * which the lease was last seen to change, not from timestamps written by another machine's clock.
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    kc: KubeConfig,
    private readonly config: LeaderElectionConfig,
    private readonly log: Logger,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this candidate leads; `onLost` fires if leadership is later lost. */
  run(onLost: () => void): Promise<void> {
    return new Promise((resolve) => {
      let lastRenew = 0;
      const tick = async (): Promise<void> => {
        if (this.stopped) return;
        const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
          this.log.warn(
            { err: err instanceof Error ? err.message : err },
            'leader election: lease update failed',
          );
          return false;
        });
        const now = Date.now();
        if (ok) {
          lastRenew = now;
          if (!this.leading) {
            this.leading = true;
            this.log.info({ lease: `${this.config.namespace}/${this.config.name}` }, 'became leader');
            resolve();
          }
        } else if (this.leading && now - lastRenew > this.config.renewDeadlineMs) {
          this.leading = false;
          this.log.error('lost leadership: could not renew the lease within the renew deadline');
          onLost();
          return;
        }
        this.timer = setTimeout(() => void tick(), this.config.retryPeriodMs);
      };
      void tick();
    });
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.config;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}`;
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: now.getTime() };
    const heldByOther = !!spec.holderIdentity && spec.holderIdentity !== identity;
    if (heldByOther && !leaseExpired(this.observed.at, leaseDurationMs, now.getTime())) return false;

    const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === identity ? 0 : 1);
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
          acquireTime: microTime(spec.holderIdentity === identity ? spec.acquireTime : now),
          renewTime: microTime(now),
          leaseTransitions: transitions,
        },
      },
    });
    return true;
  }

  /** Stops campaigning and, if leading, releases the lease so a successor need not wait for expiry. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name, identity } = this.config;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: microTime(lease.spec.acquireTime),
            renewTime: microTime(new Date()),
          },
        },
      });
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : err }, 'could not release the lease');
    }
  }
}
