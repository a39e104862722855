import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Registry } from './telemetry/prom-client.js';
import { INBOUND_SOURCE } from './capture/capture-rules.js';
import { adminServer, healthServer, metricsServer, type AdminState } from './admin/admin-servers.js';
import type { AppProbe } from './admin/app-probes.js';
import { applyEndpoints, compileConfig, validateProxyConfig, type CompiledConfig } from './config/compile.js';
import type { ClusterLoadAssignment, ProxyConfig } from './config/generated/proxy-config.js';
import type { ProxyAnnouncement } from './config/generated/push-protocol.js';
import { createRequestHandler, createUpgradeHandler, type Direction } from './http/request-handler.js';
import { destinationOf, factsOfNode, requestLabels, type WorkloadFacts } from './http/telemetry-labels.js';
import { WorkloadIdentity, type IdentitySource } from './identity/workload-identity.js';
import { GatewayListener } from './listeners/gateway-listener.js';
import { GatewayTls } from './listeners/gateway-tls.js';
import { HttpServers } from './listeners/http-servers.js';
import { InboundListener } from './listeners/inbound-listener.js';
import { OutboundListener } from './listeners/outbound-listener.js';
import type { TcpProxyContext } from './listeners/tcp-proxy.js';
import { loadOriginalDestination, type OriginalDestinationReader } from './original-dst/original-dst.js';
import { PushClient, type ConfigSink } from './push/push-client.js';
import { createAccessLogger, type AccessLogger } from './telemetry/access-log.js';
import { ProxyMetrics, type TcpLabels } from './telemetry/metrics.js';
import type { DownstreamConnection } from './http/downstream.js';
import type { UpstreamCluster } from './upstream/cluster.js';
import type { UpstreamHost } from './upstream/host.js';

/**
 * Traffic listeners accept connections that close on the client's FIN (net's default) until a
 * protocol that honours half-close takes them over (the TCP relay, HTTP/1.1): a FIN while the first
 * bytes are read, during a TLS handshake or on HTTP/2 still closes the connection.
 */
const ACCEPTED = { allowHalfOpen: false } as const;

export interface ProxyPorts {
  outbound: number;
  inbound: number;
  admin: number;
  health: number;
  metrics: number;
}

export interface ProxyOptions {
  readonly node: ProxyAnnouncement;
  /** Where traffic listeners bind; admin always binds loopback. */
  readonly bindAddress: string;
  /** 0 picks a free port (tests run many proxies side by side). */
  readonly ports: ProxyPorts;
  /** The control plane's push URL; without it, `configFile` is the configuration (standalone mode). */
  readonly controlPlaneUrl?: string;
  readonly configFile?: string;
  readonly identity: IdentitySource;
  readonly accessLog: boolean;
  /** How long SIGTERM waits for in-flight requests before closing. */
  readonly drainMs: number;
  readonly detectionTimeoutMs: number;
  /**
   * iptables (weft-init) redirects the workload's traffic to the proxy: each connection's original
   * destination is read (SO_ORIGINAL_DST) to route it. Off, nothing is read and routing is by Host.
   */
  readonly capture?: boolean;
  /** The application's HTTP probes, answered on the health port (WEFT_APP_PROBERS, from injection). */
  readonly appProbers?: ReadonlyMap<string, AppProbe>;
  readonly log: Logger;
}

/**
 * One Weft proxy: its listeners, its configuration (swapped atomically on each accepted push), its
 * identity, and its admin, health and metrics endpoints. Ready once it has a configuration and, if
 * it has an identity source, a certificate.
 */
export class WeftProxy implements ConfigSink {
  readonly registry = new Registry();
  private compiled: CompiledConfig | undefined;
  private version = '';
  private readonly identity: WorkloadIdentity;
  private readonly metrics: ProxyMetrics;
  private readonly accessLog: AccessLogger;
  private readonly servers: (Server | HttpServer)[] = [];
  private readonly ownPorts = new Map<number, Server>();
  private readonly httpByDirection: Record<Direction, HttpServers>;
  private readonly inbound: InboundListener;
  private readonly outbound: OutboundListener;
  private readonly gatewayTls: GatewayTls;
  private readonly gateway: GatewayListener;
  private readonly refused: Counter<'reason'>;
  private readonly self: WorkloadFacts;
  private push: PushClient | undefined;
  private draining = false;
  readonly boundPorts: ProxyPorts = { outbound: 0, inbound: 0, admin: 0, health: 0, metrics: 0 };

  constructor(private readonly options: ProxyOptions) {
    this.identity = new WorkloadIdentity(options.identity, options.log);
    this.metrics = new ProxyMetrics(this.registry);
    this.accessLog = createAccessLogger({ enabled: options.accessLog });
    this.self = factsOfNode(options.node);
    this.refused = new Counter({
      name: 'weft_proxy_connections_refused_total',
      help: 'Inbound connections refused before any request: plaintext under STRICT, failed mTLS, no listener, RBAC on TCP.',
      labelNames: ['reason'] as const,
      registers: [this.registry],
    });
    const handler = (direction: Direction, listenerPort: number): HttpServers => {
      const chain = {
        direction,
        config: () => this.compiled,
        self: () => this.self,
        selfIdentity: () => this.identity.current()?.spiffeId,
        metrics: this.metrics,
        accessLog: this.accessLog,
        listenerPort,
      };
      return new HttpServers(createRequestHandler(chain), createUpgradeHandler(chain));
    };
    this.httpByDirection = {
      outbound: handler('outbound', options.ports.outbound),
      inbound: handler('inbound', options.ports.inbound),
      gateway: handler('gateway', 0),
    };
    this.gatewayTls = new GatewayTls({
      onSecure: (tls, listener) => this.gateway.serveTerminated(tls, listener),
      onProblem: (problem) => options.log.warn(problem, 'gateway TLS server'),
    });
    this.gateway = new GatewayListener({
      config: () => this.compiled,
      http: this.httpByDirection.gateway,
      terminate: (socket, listener) => this.gatewayTls.terminate(socket, listener),
      tcp: (config, conn) => this.tcpContext(config, conn, 'source'),
    });
    const originalDestination = options.capture ? this.originalDestinationReader() : undefined;
    this.inbound = new InboundListener({
      config: () => this.compiled,
      credentials: () => this.identity.current(),
      http: this.httpByDirection.inbound,
      tcp: (config, conn) => this.tcpContext(config, conn, 'destination'),
      detectionTimeoutMs: options.detectionTimeoutMs,
      onRefused: (reason) => this.refused.inc({ reason }),
      originalDestination,
    });
    this.outbound = new OutboundListener({
      config: () => this.compiled,
      http: this.httpByDirection.outbound,
      tcp: (config, conn) => this.tcpContext(config, conn, 'source'),
      originalDestination,
    });
  }

  /**
   * Without the addon (`npm run build:native`) the proxy still serves what the application sends
   * it as an HTTP proxy, and HTTP whose Host names a service; captured TCP cannot be routed.
   */
  private originalDestinationReader(): OriginalDestinationReader | undefined {
    const loaded = loadOriginalDestination();
    if (typeof loaded === 'function') return loaded;
    this.options.log.warn(
      { reason: loaded.unavailable },
      'traffic capture is on but original destinations cannot be read: routing by Host only',
    );
    return undefined;
  }

  async start(): Promise<void> {
    const { ports, bindAddress, log } = this.options;
    this.boundPorts.admin = await this.listen(adminServer(this.adminState(), log), '127.0.0.1', ports.admin);
    this.boundPorts.health = await this.listen(
      healthServer(this.adminState(), {
        probers: this.options.appProbers ?? new Map(),
        host: this.options.node.address ?? '127.0.0.1',
      }),
      bindAddress,
      ports.health,
    );
    this.boundPorts.metrics = await this.listen(metricsServer(this.registry), bindAddress, ports.metrics);
    this.boundPorts.outbound = await this.listen(
      createServer(ACCEPTED, (s) => this.outbound.accept(s)),
      bindAddress,
      ports.outbound,
    );
    this.boundPorts.inbound = await this.listen(
      createServer(ACCEPTED, (s) => this.inbound.accept(s)),
      bindAddress,
      ports.inbound,
    );
    await this.identity.start();
    if (this.options.controlPlaneUrl) {
      this.push = new PushClient({
        url: this.options.controlPlaneUrl,
        node: this.options.node,
        sink: this,
        credentials: () => this.identity.current(),
        log,
      });
      this.push.start();
    } else if (this.options.configFile) {
      const error = this.applySnapshot(
        JSON.parse(readFileSync(this.options.configFile, 'utf8')) as ProxyConfig,
        'file',
      );
      if (error) throw new Error(`${this.options.configFile}: ${error.message}`);
    }
  }

  /**
   * ConfigSink: validates and compiles, then swaps in one assignment, with the trusted mesh roots
   * (security.trustBundle) beside it; an Error means NACK, and then nothing changes.
   */
  applySnapshot(config: ProxyConfig, version: string): Error | undefined {
    try {
      const valid = validateProxyConfig(config);
      const trust = this.identity.prepareTrustBundle(valid.security.trustBundle);
      const { compiled, retired } = compileConfig(valid, this.compiled, {
        credentials: () => this.identity.current(),
        ...(this.options.capture ? { inboundSource: INBOUND_SOURCE } : {}),
      });
      this.compiled = compiled;
      trust();
      this.version = version;
      for (const cluster of retired) void cluster.close();
      this.gatewayTls.update(valid);
      this.reconcileOwnPorts(compiled);
      this.options.log.info(
        { version, listeners: valid.listeners.length, clusters: valid.clusters.length },
        'configuration applied',
      );
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  applyEndpoints(endpoints: ClusterLoadAssignment[], version: string): Error | undefined {
    if (!this.compiled) return new Error('endpoints before any snapshot');
    try {
      applyEndpoints(this.compiled, endpoints);
      this.version = version;
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  /** Stops accepting, lets in-flight requests finish (up to drainMs), then closes everything. */
  async stop(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.push?.stop();
    this.identity.stop();
    for (const http of Object.values(this.httpByDirection)) http.drain();
    const closing = [...this.servers, ...this.ownPorts.values()].map(
      (s) => new Promise<void>((r) => s.close(() => r())),
    );
    const timeout = new Promise<void>((r) => setTimeout(r, this.options.drainMs).unref());
    await Promise.race([Promise.all(closing), timeout]);
    await Promise.allSettled([...(this.compiled?.clusters.values() ?? [])].map((c) => c.close()));
    this.accessLog.flush();
  }

  ready(): { ready: boolean; why: string } {
    if (this.draining) return { ready: false, why: 'draining' };
    if (!this.compiled) return { ready: false, why: 'no configuration yet' };
    if (this.options.identity.kind !== 'none' && !this.identity.current())
      return { ready: false, why: 'no workload certificate yet' };
    return { ready: true, why: '' };
  }

  private adminState(): AdminState {
    return {
      configDump: () => ({
        version: this.version,
        identity: this.identity.current()?.spiffeId ?? null,
        certificateExpiry: this.identity.current()
          ? new Date(this.identity.current()!.notAfter).toISOString()
          : null,
        controlPlane: this.push
          ? {
              connected: this.push.connected,
              lastAcked: this.push.lastAcked ?? null,
              lastNack: this.push.lastNack ?? null,
            }
          : null,
        config: this.compiled ? redactSecrets(this.compiled.raw) : null,
      }),
      clusters: () =>
        [...(this.compiled?.clusters.values() ?? [])].map((c) => ({
          name: c.name,
          inflight: c.inflight,
          breaker: c.breaker.snapshot(),
          hosts: c.hosts.map((h) => ({
            address: h.key,
            activeRequests: h.activeRequests,
            ejected: c.outlier.isEjected(h),
          })),
        })),
      ready: () => this.ready(),
      quit: () => void this.stop().then(() => process.exit(0)),
    };
  }

  /** Gateway listeners bind their own ports; a port that left the configuration stops accepting. */
  private reconcileOwnPorts(compiled: CompiledConfig): void {
    const wanted = new Set([...compiled.gateway.keys(), ...compiled.gatewayBySni.keys()]);
    for (const [port, server] of this.ownPorts) {
      if (wanted.has(port)) continue;
      server.close();
      this.ownPorts.delete(port);
    }
    for (const port of wanted) {
      if (this.ownPorts.has(port)) continue;
      const server = createServer(ACCEPTED, (s) => this.gateway.accept(s, port));
      server.on('error', (err) => this.options.log.error({ err, port }, 'cannot bind a gateway listener'));
      server.listen(port, this.options.bindAddress);
      this.ownPorts.set(port, server);
    }
  }

  private tcpContext(
    config: CompiledConfig,
    conn: DownstreamConnection,
    reporter: 'source' | 'destination',
  ): TcpProxyContext {
    return {
      config,
      metrics: this.metrics,
      labels: (
        cluster: UpstreamCluster | undefined,
        host: UpstreamHost | undefined,
        flags: string,
      ): TcpLabels => {
        const outcome = {
          protocol: 'tcp',
          status: 0,
          grpcStatus: undefined,
          flags,
          security: conn.peerIdentity ? 'mutual_tls' : reporter === 'destination' ? 'none' : 'unknown',
        };
        const {
          response_code: _rc,
          grpc_response_status: _gs,
          ...labels
        } = reporter === 'destination'
          ? requestLabels(
              'destination',
              UNKNOWN,
              conn.peerIdentity ?? 'unknown',
              {
                ...destinationOf(cluster, host),
                facts: this.self,
                principal: this.identity.current()?.spiffeId ?? 'unknown',
              },
              outcome,
            )
          : requestLabels(
              'source',
              this.self,
              this.identity.current()?.spiffeId ?? 'unknown',
              destinationOf(cluster, host),
              outcome,
            );
        return labels;
      },
    };
  }

  private async listen(server: Server | HttpServer, host: string, port: number): Promise<number> {
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }
}

/** The configuration without private keys, for the admin config dump (Envoy redacts them too). */
function redactSecrets(config: ProxyConfig): ProxyConfig {
  if (!config.secrets) return config;
  return { ...config, secrets: config.secrets.map((s) => ({ ...s, privateKey: '[redacted]' })) };
}

const UNKNOWN: WorkloadFacts = {
  workload: 'unknown',
  namespace: 'unknown',
  app: 'unknown',
  version: 'unknown',
};
