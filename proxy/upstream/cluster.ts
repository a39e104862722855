import { isIPv6 } from 'node:net';
import type { Dispatcher } from 'undici';
import { Pool } from './undici-pool.js';
import type { Cluster, Endpoint } from '../config/generated/proxy-config.js';
import type { Credentials } from '../identity/credentials.js';
import { RetryBudget } from '../resilience/retry-policy.js';
import { CircuitBreaker } from './circuit-breaker.js';
import {
  ALPN_H2,
  MESH_ALPN_HTTP,
  MESH_ALPN_HTTP1,
  MESH_ALPN_TCP,
  meshTlsConnector,
  plainConnector,
  simpleTlsConnector,
} from './connector.js';
import { upstreamHost, type UpstreamHost } from './host.js';
import { Http2Pool } from './http2-pool.js';
import { createLoadBalancer, type LoadBalancer } from './load-balancer.js';
import { OutlierDetector } from './outlier-detection.js';

/** A host's connection pool as the exchange drives it: undici's Pool (HTTP/1.1) or Http2Pool. */
export interface UpstreamPool {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
}

export interface ClusterDependencies {
  readonly credentials: () => Credentials | undefined;
  /**
   * With traffic capture: the source address of connections to the workload beside the proxy at its
   * own (non-loopback) address, Istio's 127.0.0.6, which weft-init exempts from capture; from any
   * other source the proxy's call to its own pod address would be redirected back to its inbound port.
   */
  readonly inboundSource?: { readonly ipv4: string; readonly ipv6: string };
}

/**
 * Kept below the common 5 s server keep-alive default (Node's), and undici also honours a server's
 * `Keep-Alive: timeout=` hint, so the proxy closes an idle upstream connection before the server
 * does and never sends a request down a socket the server is closing (Istio's classic 503).
 */
const DEFAULT_IDLE_TIMEOUT_MS = 4_000;
/**
 * Between proxies the server is a Weft inbound listener, which keeps idle connections 60 s
 * (listeners/http-servers.ts). HTTP/1.1 between proxies (ADR 0013) needs a connection per request
 * in flight, each a TLS handshake to open: closing them after 4 s made every lull a burst of
 * handshakes when traffic came back.
 */
const MESH_IDLE_TIMEOUT_MS = 50_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * Envoy's tcp_proxy idle_timeout default, which Istio keeps for DestinationRule
 * `connectionPool.tcp.idleTimeout` when it is not set: a relayed connection with no byte either way
 * for an hour is closed, so a peer that vanished without a FIN does not hold it for good.
 */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;

/**
 * One upstream cluster at runtime: its hosts, load balancer, circuit breaker, retry budget, outlier
 * detector and a connection pool per host. A configuration push that leaves the cluster's settings
 * unchanged keeps this object (and so its pools, counters, retries in flight and ejections); see
 * `sameSettings`.
 */
export class UpstreamCluster {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly outlier: OutlierDetector;
  /**
   * Per cluster, as Envoy's `circuit_breakers.thresholds.retry_budget`: a failing service's retry
   * storm spends its own budget and never starves retries to the other services.
   */
  readonly retryBudget = new RetryBudget();
  hosts: readonly UpstreamHost[] = [];
  /** Requests dispatched and not yet answered; beyond maxConnections they are pending. */
  inflight = 0;
  private balancer: LoadBalancer;
  private readonly pools = new Map<string, UpstreamPool>();
  private readonly isAvailable = (h: UpstreamHost): boolean => !this.outlier.isEjected(h);

  constructor(
    readonly config: Cluster,
    private readonly deps: ClusterDependencies,
  ) {
    this.name = config.name;
    this.breaker = new CircuitBreaker(config.connectionPool);
    this.outlier = new OutlierDetector(config.outlierDetection);
    this.balancer = createLoadBalancer(config.loadBalancer, this.hosts);
  }

  /** Whether `next` can reuse this runtime object (same pools, limits and policies). Pure. */
  sameSettings(next: Cluster): boolean {
    return JSON.stringify(next) === JSON.stringify(this.config);
  }

  /** New endpoints; hosts whose address is unchanged keep their counters, removed ones close gracefully. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    const previous = new Map(this.hosts.map((h) => [h.key, h]));
    const next = endpoints.map((e) => {
      const host = previous.get(`${e.address}:${e.port}`);
      return host && JSON.stringify(host.endpoint) === JSON.stringify(e) ? host : upstreamHost(e);
    });
    const kept = new Set(next.map((h) => h.key));
    for (const key of previous.keys()) {
      if (kept.has(key)) continue;
      this.outlier.forget(key);
      this.closePool(key);
    }
    this.hosts = next;
    this.balancer = createLoadBalancer(this.config.loadBalancer, next);
  }

  /** A host for one attempt, skipping ejected ones; undefined when none is healthy (`UH`). */
  pick(hashKey: string | undefined): UpstreamHost | undefined {
    return this.balancer.pick(hashKey === undefined ? NO_HASH : { hashKey }, this.isAvailable);
  }

  /** How long a TCP-proxied connection to this cluster may carry no byte (DestinationRule tcp.idleTimeout); 0: for good. */
  get tcpIdleTimeoutMs(): number {
    return this.config.connectionPool?.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
  }

  get maxConnections(): number {
    return this.config.connectionPool?.maxConnections ?? Number.POSITIVE_INFINITY;
  }

  /** The connection pool for a host, created on first use. */
  dispatcher(host: UpstreamHost): UpstreamPool {
    let pool = this.pools.get(host.key);
    if (!pool) {
      pool = this.createPool(host);
      this.pools.set(host.key, pool);
    }
    return pool;
  }

  /** Whether connections to `host` carry mesh mTLS (for telemetry's connection_security_policy). */
  usesMeshTls(host: UpstreamHost): boolean {
    const mode = this.config.tls?.mode ?? 'DISABLE';
    return mode === 'MESH' || (mode === 'AUTO' && host.endpoint.meshTls === true);
  }

  /** Lets in-flight requests finish, then closes every connection. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  /** A connector for raw connections (TCP passthrough) to `host`. */
  rawConnector(host: UpstreamHost): ReturnType<typeof plainConnector> {
    return this.connector(host, this.config.connectionPool?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  }

  /** A connector for HTTP/1.1 upgrades (WebSocket) to `host`: between proxies, ALPN http/1.1 only. */
  upgradeConnector(host: UpstreamHost): ReturnType<typeof plainConnector> {
    const timeoutMs = this.config.connectionPool?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return this.connector(host, timeoutMs, MESH_ALPN_HTTP1);
  }

  private closePool(key: string): void {
    const pool = this.pools.get(key);
    if (!pool) return;
    this.pools.delete(key);
    void pool.close().catch(() => undefined);
  }

  private createPool(host: UpstreamHost): UpstreamPool {
    const limits = this.config.connectionPool ?? {};
    const connectTimeoutMs = limits.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const idleTimeoutMs =
      limits.idleTimeoutMs ?? (this.usesMeshTls(host) ? MESH_IDLE_TIMEOUT_MS : DEFAULT_IDLE_TIMEOUT_MS);
    // HTTP/2 and gRPC: h2 to the host whatever the transport; plaintext is h2c with prior knowledge.
    // An http cluster stays HTTP/1.1, between proxies too, unless upgraded (Istio's h2UpgradePolicy):
    // Node's HTTP/2 client costs more per request than HTTP/1.1 keep-alive (ADR 0013).
    const http2 =
      this.config.protocol === 'http2' || this.config.protocol === 'grpc' || limits.http2Upgrade === true;
    if (http2)
      return new Http2Pool({
        hostname: host.endpoint.address,
        port: host.endpoint.port,
        connect: this.connector(host, connectTimeoutMs, ALPN_H2),
        tls: this.originatesTls(host),
        maxConnections: this.maxConnections,
        maxRequestsPerConnection: limits.maxRequestsPerConnection || undefined,
        idleTimeoutMs,
      });
    const { address, port } = host.endpoint;
    return new Pool(`http://${isIPv6(address) ? `[${address}]` : address}:${port}`, {
      connections: Number.isFinite(this.maxConnections) ? this.maxConnections : null,
      keepAliveTimeout: idleTimeoutMs,
      keepAliveMaxTimeout: idleTimeoutMs,
      ...(limits.maxRequestsPerConnection ? { maxRequestsPerClient: limits.maxRequestsPerConnection } : {}),
      // The proxy enforces its own timeouts (route timeout, per-try timeout); undici's would race them.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: this.connector(host, connectTimeoutMs, MESH_ALPN_HTTP1),
    });
  }

  /** Whether connections to `host` start with a TLS handshake (mesh mTLS, or DestinationRule TLS). */
  private originatesTls(host: UpstreamHost): boolean {
    const mode = this.config.tls?.mode;
    return this.usesMeshTls(host) || mode === 'SIMPLE' || mode === 'MUTUAL';
  }

  private connector(
    host: UpstreamHost,
    connectTimeoutMs: number,
    httpAlpn: readonly string[] = MESH_ALPN_HTTP,
  ): ReturnType<typeof plainConnector> {
    const tls = this.config.tls;
    if (this.usesMeshTls(host)) {
      const expected = host.endpoint.identity ? [host.endpoint.identity] : (tls?.subjectAltNames ?? []);
      return meshTlsConnector({
        credentials: this.deps.credentials,
        sni: tls?.sni ?? istioSni(this.name),
        expectedIdentities: expected,
        alpn: this.config.protocol === 'tcp' || this.config.protocol === 'tls' ? MESH_ALPN_TCP : httpAlpn,
        connectTimeoutMs,
      });
    }
    if (tls?.mode === 'SIMPLE' || tls?.mode === 'MUTUAL')
      return simpleTlsConnector(
        tls.sni,
        tls.insecureSkipVerify === true,
        connectTimeoutMs,
        httpAlpn === ALPN_H2 ? ALPN_H2 : MESH_ALPN_HTTP1,
      );
    return plainConnector(connectTimeoutMs, this.sourceAddress(host));
  }

  /** Where plaintext connections to `host` come from: the kernel's choice, except for inbound delivery under capture. */
  private sourceAddress(host: UpstreamHost): string | undefined {
    const source = this.deps.inboundSource;
    const address = host.endpoint.address;
    if (!source || !this.name.startsWith('inbound|') || isLoopback(address)) return undefined;
    return isIPv6(address) ? source.ipv6 : source.ipv4;
  }
}

const NO_HASH = Object.freeze({});

/** Istio's mesh SNI: `outbound|9080|v1|reviews.ns.svc.cluster.local` → `outbound_.9080_.v1_.reviews...`. */
export function istioSni(clusterName: string): string {
  return clusterName.split('|').join('_.');
}

/** The service port a mesh SNI names (how an inbound proxy without capture knows the target port). */
export function portOfSni(sni: string | undefined | false): number | undefined {
  const m = sni ? /^outbound_\.(\d+)_\./.exec(sni) : null;
  return m ? Number(m[1]) : undefined;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}
