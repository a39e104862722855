import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TcpRoute } from '../config/generated/proxy-config.js';
import type { CompiledConfig } from '../config/compile.js';
import { ResponseFlag } from '../http/outcome.js';
import type { TcpLabels } from '../telemetry/metrics.js';
import type { ProxyMetrics } from '../telemetry/metrics.js';
import type { UpstreamCluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/host.js';
import { holdForSplice, splice } from './splice.js';

export interface TcpProxyContext {
  readonly config: CompiledConfig;
  readonly metrics: ProxyMetrics;
  /** Labels for this connection once the upstream host is known (or undefined on failure). */
  readonly labels: (
    cluster: UpstreamCluster | undefined,
    host: UpstreamHost | undefined,
    flags: string,
  ) => TcpLabels;
}

/**
 * TCP passthrough: picks a cluster by weight and a host by the cluster's load balancer, connects
 * (mesh mTLS when the cluster says so, through the same connector as HTTP), and pipes both ways,
 * half-close included (splice). No byte is inspected, so server-first protocols (MySQL, SMTP) work
 * unchanged.
 */
export function proxyTcp(downstream: Duplex, route: TcpRoute, ctx: TcpProxyContext): void {
  const cluster = pickCluster(route, ctx.config);
  const host = cluster?.pick(undefined);
  if (!cluster || !host) {
    ctx.metrics.recordTcpOpen(ctx.labels(cluster, undefined, ResponseFlag.noHealthyUpstream));
    downstream.destroy();
    return;
  }
  holdForSplice(downstream);
  cluster.inflight += 1;
  host.activeRequests += 1;
  const connect = cluster.rawConnector(host);
  connect(
    {
      hostname: host.endpoint.address,
      host: host.key,
      protocol: 'tcp:',
      port: String(host.endpoint.port),
    },
    (err, upstream) => {
      if (err || !upstream) {
        cluster.inflight -= 1;
        host.activeRequests -= 1;
        cluster.outlier.record(host, 'connect-failure', cluster.hosts.length);
        const labels = ctx.labels(cluster, host, ResponseFlag.upstreamConnectFailure);
        ctx.metrics.recordTcpOpen(labels);
        ctx.metrics.recordTcpClose(labels, 0, 0);
        downstream.destroy();
        return;
      }
      cluster.outlier.record(host, 'success', cluster.hosts.length);
      const labels = ctx.labels(cluster, host, ResponseFlag.none);
      ctx.metrics.recordTcpOpen(labels);
      splice(
        downstream,
        upstream,
        () => {
          cluster.inflight -= 1;
          host.activeRequests -= 1;
          ctx.metrics.recordTcpClose(labels, bytesWritten(downstream), bytesRead(downstream));
        },
        cluster.tcpIdleTimeoutMs,
      );
    },
  );
}

function pickCluster(route: TcpRoute, config: CompiledConfig): UpstreamCluster | undefined {
  const total = route.clusters.reduce((sum, c) => sum + c.weight, 0);
  let r = Math.random() * total;
  for (const c of route.clusters) {
    r -= c.weight;
    if (r < 0) return config.clusters.get(c.cluster);
  }
  return route.clusters[0] && config.clusters.get(route.clusters[0].cluster);
}

function bytesWritten(s: Duplex): number {
  return (s as Partial<Socket>).bytesWritten ?? 0;
}
function bytesRead(s: Duplex): number {
  return (s as Partial<Socket>).bytesRead ?? 0;
}
