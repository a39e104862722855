import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { RequestLabels } from '../telemetry/metrics.js';
import type { UpstreamCluster } from '../upstream/cluster.js';
import type { DownstreamConnection, DownstreamRequest } from './downstream.js';
import type { ExchangeResult } from './exchange.js';
import { headerValue } from './headers.js';
import type { RequestHandlerOptions } from './request-handler.js';
import {
  destinationOf,
  inboundDestination,
  requestLabels,
  UNKNOWN_WORKLOAD,
  type WorkloadFacts,
} from './telemetry-labels.js';

/** What one finished request leaves behind for metrics and the access log. */
export interface FinishedRequest {
  readonly req: DownstreamRequest;
  readonly conn: DownstreamConnection;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly authority: string;
  readonly method: string;
  readonly path: string;
  readonly requestBytes: number;
  readonly requestId: string | undefined;
  /** The source workload as its proxy announced it (inbound, over mTLS only). */
  readonly peer: WorkloadFacts | undefined;
  readonly cluster: UpstreamCluster | undefined;
  readonly routeName: string | undefined;
  readonly flags: string;
  readonly result: ExchangeResult;
}

/** Records one request in Istio's metrics (reporter source or destination) and the access log. */
export function recordRequest(options: RequestHandlerOptions, r: FinishedRequest): void {
  const security = securityPolicy(options, r);
  options.metrics.recordRequest(
    labelsOf(options, r, security),
    r.durationMs,
    r.requestBytes,
    r.result.responseBytes,
  );
  if (options.accessLog.enabled) options.accessLog.log(accessLogEntry(options, r, security));
}

/** Istio's connection_security_policy: known only to the destination (`unknown` at the source). */
function securityPolicy(options: RequestHandlerOptions, r: FinishedRequest): string {
  if (options.direction !== 'inbound') return 'unknown';
  return r.conn.peerIdentity !== undefined ? 'mutual_tls' : 'none';
}

function labelsOf(options: RequestHandlerOptions, r: FinishedRequest, security: string): RequestLabels {
  const contentType = headerValue(r.req.headers['content-type']) ?? '';
  const outcome = {
    protocol: contentType.startsWith('application/grpc') ? 'grpc' : 'http',
    status: r.result.status,
    grpcStatus: r.result.grpcStatus,
    flags: r.flags,
    security,
  };
  const self = options.self();
  const selfIdentity = options.selfIdentity() ?? 'unknown';
  if (options.direction === 'inbound') {
    const source = r.peer ?? UNKNOWN_WORKLOAD;
    const destination = inboundDestination(self, selfIdentity, r.authority);
    return requestLabels('destination', source, r.conn.peerIdentity ?? 'unknown', destination, outcome);
  }
  return requestLabels(
    'source',
    self,
    selfIdentity,
    destinationOf(r.cluster, r.result.upstreamHost),
    outcome,
  );
}

function accessLogEntry(
  options: RequestHandlerOptions,
  r: FinishedRequest,
  security: string,
): AccessLogEntry {
  const { result, req } = r;
  const upstream = result.upstreamHost;
  return {
    start_time: new Date(r.startedAt).toISOString(),
    method: r.method,
    path: r.path,
    protocol: req.httpVersionMajor === 2 ? 'HTTP/2' : 'HTTP/1.1',
    response_code: result.status,
    response_flags: r.flags,
    bytes_received: r.requestBytes,
    bytes_sent: result.responseBytes,
    duration: Math.round(r.durationMs),
    upstream_service_time: upstream ? Math.round(result.upstreamServiceTimeMs) : null,
    x_forwarded_for: orNull(req.headers['x-forwarded-for']),
    user_agent: orNull(req.headers['user-agent']),
    request_id: r.requestId ?? orNull(req.headers['x-request-id']),
    authority: r.authority,
    upstream_host: upstream ? upstream.key : null,
    upstream_cluster: r.cluster ? r.cluster.name : null,
    route_name: r.routeName ?? null,
    downstream_remote_address: r.conn.remoteAddress,
    downstream_peer_principal: r.conn.peerIdentity ?? null,
    connection_security_policy: security,
    reporter: options.direction === 'inbound' ? 'destination' : 'source',
  };
}

function orNull(value: string | string[] | undefined): string | null {
  return headerValue(value) ?? null;
}
