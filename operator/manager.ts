import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import dotI from '@dot-i/k8s-operator';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Controller } from '../controllers/runtime/controller.js';
import type { Informer } from '../controllers/runtime/informer.js';
import { LeaderElector } from '../controllers/runtime/leader-election.js';
import { ControllerMetrics } from '../controllers/runtime/metrics.js';
import { boundPort, serveMetrics, serveProbes } from './http-endpoints.js';

const Operator = dotI.default;

export interface ManagerOptions {
  readonly log: Logger;
  readonly metricsBindAddress: string;
  readonly probeBindAddress: string;
  /** Off for a single local replica; on in the cluster. */
  readonly leaderElection?: {
    readonly namespace: string;
    readonly name: string;
    readonly leaseDurationMs: number;
  };
}

/**
 * The operator process, in controller-runtime's order: probes and metrics, then caches, then
 * (once leader) controllers; on shutdown the reverse, draining in-flight reconciles and releasing the
 * lease. It extends @dot-i/k8s-operator's Operator for its process shell and KubeConfig loading
 * (docs/adr/0001); watching, queueing and writing are done by controllers/runtime.
 */
export class Manager extends Operator {
  readonly metrics = new ControllerMetrics();
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly controllers: Controller[] = [];
  private readonly servers: Server[] = [];
  private elector: LeaderElector | undefined;
  private cachesSynced = false;

  constructor(private readonly options: ManagerOptions) {
    super({
      info: (m: string) => options.log.info(m),
      debug: (m: string) => options.log.debug(m),
      warn: (m: string) => options.log.warn(m),
      error: (m: string) => options.log.error(m),
    });
  }

  get kc(): KubeConfig {
    return this.kubeConfig;
  }

  addInformer<T extends KubernetesObject>(informer: Informer<T>): Informer<T> {
    this.informers.push(informer as unknown as Informer<KubernetesObject>);
    return informer;
  }

  addController(controller: Controller): void {
    this.controllers.push(controller);
  }

  /** The bound ports, useful when started on port 0. */
  ports(): { metrics?: number; probes?: number } {
    return {
      metrics: this.servers[0] && boundPort(this.servers[0]),
      probes: this.servers[1] && boundPort(this.servers[1]),
    };
  }

  protected override async init(): Promise<void> {
    const { log } = this.options;
    this.servers.push(await serveMetrics(this.options.metricsBindAddress, this.metrics.registry));
    this.servers.push(await serveProbes(this.options.probeBindAddress, () => this.cachesSynced));
    log.info({ ports: this.ports() }, 'serving metrics and probes');

    await Promise.all(this.informers.map((i) => i.start()));
    this.cachesSynced = true;
    log.info({ informers: this.informers.length }, 'caches synced');

    const election = this.options.leaderElection;
    if (election) {
      this.elector = new LeaderElector(
        this.kubeConfig,
        {
          ...election,
          identity: `${hostname()}_${randomBytes(4).toString('hex')}`,
          renewDeadlineMs: Math.round(election.leaseDurationMs * (2 / 3)),
          retryPeriodMs: Math.max(200, Math.round(election.leaseDurationMs / 7)),
        },
        log,
      );
      await this.elector.run(() => {
        // As controller-runtime does: a replica that lost the lease exits and is restarted clean.
        log.fatal('leader election lost; exiting');
        process.exit(1);
      });
      this.metrics.leader.set(1);
    }
    for (const controller of this.controllers) controller.start();
    log.info({ controllers: this.controllers.map((c) => c.name) }, 'controllers started');
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop()));
    await this.elector?.release();
    this.metrics.leader.set(0);
    await Promise.all(this.informers.map((i) => i.stop()));
    this.stop();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
