import type { Logger } from 'pino';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import type { ProxyAnnouncement } from '../../proxy/config/generated/push-protocol.js';
import type { PeerIdentity, ProxyConnection } from '../push/proxy-connection.js';
import type { PushServer } from '../push/push-server.js';
import { sameTrustBundle } from '../../proxy/identity/trust-bundle.js';
import type { MeshSnapshot, ProxyIdentity } from '../translate/snapshot.js';
import { translate, translateEndpoints } from '../translate/translate.js';
import { Debouncer } from './debounce.js';
import {
  credentialDemands,
  credentialNamespace,
  credentialReferences,
  secretsFor,
  type GatewayCredentials,
} from './gateway-credentials.js';
import { PushQueue, type PushKind } from './push-queue.js';
import { WATCHED, type Discovery, type WatchedKind } from './discovery.js';

export const identityOf = (node: ProxyAnnouncement): ProxyIdentity => ({
  id: node.id,
  role: node.role,
  namespace: node.namespace,
  labels: node.labels ?? {},
  ...(node.workload ? { workload: node.workload } : {}),
  ...(node.serviceAccount ? { serviceAccount: node.serviceAccount } : {}),
  ...(node.address ? { address: node.address } : {}),
});

export interface ControlPlaneOptions {
  readonly log: Logger;
  readonly quietMs?: number;
  readonly maxDelayMs?: number;
  /** Proxies pushed per event-loop turn (Istio's PILOT_PUSH_THROTTLE plays the same role). */
  readonly pushBatch?: number;
  /** Gateway credentials (tls.credentialName Secrets); without them gateways get no `secrets`. */
  readonly credentials?: GatewayCredentials;
  /** How often the credentials gateways use are re-read, for rotations (default 30 s). */
  readonly credentialRefreshMs?: number;
}

/**
 * The translation loop: discovery reports changes, the debouncer gathers them (100 ms quiet, 10 s at
 * most), then every connected proxy gets what the change means for it: a full snapshot, or for
 * endpoint-only changes only its endpoints. A proxy whose configuration did not change gets nothing.
 * Pushes go through a queue, a batch per event-loop turn, so a large mesh never stalls the loop.
 */
export class ControlPlane {
  private readonly debouncer: Debouncer<WatchedKind>;
  private readonly queue: PushQueue;
  private snapshot: MeshSnapshot | undefined;
  private trustBundle: readonly string[] | undefined;
  private readonly credentialTimer: NodeJS.Timeout | undefined;
  private credentialSync: 'idle' | 'running' | 'again' = 'idle';

  constructor(
    private readonly discovery: Pick<Discovery, 'snapshot'>,
    private readonly push: PushServer,
    private readonly options: ControlPlaneOptions,
  ) {
    this.debouncer = new Debouncer(options.quietMs ?? 100, options.maxDelayMs ?? 10_000, (kinds, at) =>
      this.onChanges(kinds, at),
    );
    this.queue = new PushQueue(options.pushBatch ?? 100, (id, kind, changedAt) =>
      this.pushTo(id, kind, changedAt),
    );
    if (options.credentials) {
      this.credentialTimer = setInterval(() => this.syncCredentials(), options.credentialRefreshMs ?? 30_000);
      this.credentialTimer.unref();
    }
  }

  /** Discovery calls this on every watch event. */
  changed(kind: WatchedKind): void {
    this.debouncer.trigger(kind);
  }

  /**
   * The mesh roots every proxy trusts (security.trustBundle), from the CA Secret's root-cert.pem. A
   * change re-pushes every proxy at once, not debounced with watch events: it is rare, and a root
   * rotation waits on the proxies' ACKs.
   */
  setTrustBundle(roots: readonly string[]): void {
    const bundle = roots.length > 0 ? [...roots] : undefined;
    if (sameTrustBundle(bundle, this.trustBundle)) return;
    this.trustBundle = bundle;
    this.snapshot = this.meshSnapshot();
    if (!this.snapshot) return;
    this.queue.enqueue(this.push.connections.keys(), 'full', Date.now());
    this.options.log.info({ roots: bundle?.length ?? 0 }, 'trust bundle changed; pushing every proxy');
  }

  /** The configuration of a proxy that just connected (`peer`: its verified identity), from the current snapshot. */
  configFor(node: ProxyAnnouncement, peer?: PeerIdentity): ProxyConfig | undefined {
    this.snapshot ??= this.meshSnapshot();
    if (!this.snapshot) return undefined;
    const config = this.translateFor(this.snapshot, identityOf(node));
    return config && this.withCredentials(config, node, peer);
  }

  stop(): void {
    this.debouncer.stop();
    this.queue.clear();
    clearInterval(this.credentialTimer);
  }

  /**
   * A gateway's configuration with the credentials its servers name, as read so far; a credential not
   * read yet is read now, and the gateway gets it in a push of its own once it arrives.
   */
  private withCredentials(config: ProxyConfig, node: ProxyAnnouncement, peer?: PeerIdentity): ProxyConfig {
    const credentials = this.options.credentials;
    const namespace = credentialNamespace(node, peer);
    if (!credentials || !namespace) return config;
    const refs = credentialReferences(config);
    if (refs.some((r) => !credentials.known(namespace, r.credentialName))) this.syncCredentials();
    const secrets = secretsFor(node, peer, refs, (ns, name) => credentials.lookup(ns, name));
    return secrets.length > 0 ? { ...config, secrets } : config;
  }

  /**
   * Re-reads the credentials connected gateways need (one read at a time; a request meanwhile runs
   * once more after it) and, when one changed, re-pushes every gateway: the translation is cheap
   * and the version tells each proxy whether anything is new to it.
   */
  private syncCredentials(): void {
    const credentials = this.options.credentials;
    if (!credentials) return;
    if (this.credentialSync !== 'idle') {
      this.credentialSync = 'again';
      return;
    }
    this.credentialSync = 'running';
    // On the next turn: a proxy that just connected has its configuration recorded by then.
    setImmediate(() => {
      const gateways = [...this.push.connections.values()].filter((c) => credentialNamespace(c.node, c.peer));
      const demands = credentialDemands(
        gateways.map((c) => ({
          node: c.node,
          peer: c.peer,
          refs: c.config ? credentialReferences(c.config) : [],
        })),
      );
      const changedAt = Date.now();
      credentials
        .sync(demands)
        .then(
          (changed) => {
            if (changed)
              this.queue.enqueue(
                gateways.map((c) => c.id),
                'full',
                changedAt,
              );
          },
          (err: unknown) => this.options.log.error({ err }, 'reading gateway credentials failed'),
        )
        .finally(() => {
          const again = this.credentialSync === 'again';
          this.credentialSync = 'idle';
          if (again) this.syncCredentials();
        });
    });
  }

  private translateFor(snapshot: MeshSnapshot, proxy: ProxyIdentity): ProxyConfig | undefined {
    try {
      return translate(snapshot, proxy).config;
    } catch (err) {
      // A translator bug must not take the control plane down; the proxy keeps its last configuration.
      this.options.log.error({ proxy: proxy.id, err }, 'translation failed');
      return undefined;
    }
  }

  /** What the translator reads: discovery's view of the cluster, with the trust bundle from the CA. */
  private meshSnapshot(): MeshSnapshot | undefined {
    const snapshot = this.discovery.snapshot();
    if (!snapshot || !this.trustBundle) return snapshot;
    return { ...snapshot, mesh: { ...snapshot.mesh, trustBundle: this.trustBundle } };
  }

  private onChanges(kinds: ReadonlySet<WatchedKind>, firstChangeAt: number): void {
    const snapshot = this.meshSnapshot();
    this.snapshot = snapshot;
    if (!snapshot) return;
    const endpointsOnly = [...kinds].every((k) => WATCHED[k].workload);
    this.queue.enqueue(this.push.connections.keys(), endpointsOnly ? 'endpoints' : 'full', firstChangeAt);
    this.options.log.debug(
      { kinds: [...kinds], endpointsOnly, queued: this.queue.size },
      'change queued for push',
    );
  }

  /** One proxy's turn in the queue: from the latest snapshot, whatever change queued it. */
  private pushTo(id: string, kind: PushKind, changedAt: number): void {
    const connection = this.push.connections.get(id);
    if (!connection || !this.snapshot) return;
    this.update(connection, this.snapshot, kind === 'endpoints', changedAt);
  }

  private update(
    connection: ProxyConnection,
    snapshot: MeshSnapshot,
    endpointsOnly: boolean,
    changedAt: number,
  ): void {
    const proxy = identityOf(connection.node);
    if (endpointsOnly && connection.config) {
      this.push.pushEndpoints(
        connection,
        translateEndpoints(snapshot, proxy, connection.config.clusters),
        changedAt,
      );
      return;
    }
    const config = this.translateFor(snapshot, proxy);
    if (config)
      this.push.push(connection, this.withCredentials(config, connection.node, connection.peer), changedAt);
  }
}
