import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Istio's standard labels for HTTP/gRPC request metrics, in Istio's order, so Istio's dashboards and
 * recording rules work on Weft's metrics after renaming `istio_` to `weft_`.
 */
export const REQUEST_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

/**
 * Istio's TCP metrics carry the request labels minus `response_code` and `grpc_response_status`;
 * they keep `response_flags` (connection-level flags such as UF or UO).
 */
export const TCP_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

/**
 * Labels of one HTTP or gRPC request. `reporter` is `source` (client-side proxy) or `destination`
 * (server-side proxy); `request_protocol` is `http` or `grpc`; `response_flags` is `-` when none;
 * `grpc_response_status` is `''` for non-gRPC traffic, as in Istio; `connection_security_policy` is
 * `mutual_tls`, `none`, or `unknown` (always `unknown` when the reporter is `source`).
 */
export type RequestLabels = Record<(typeof REQUEST_LABEL_NAMES)[number], string>;

/** Labels of one TCP connection; `request_protocol` is `tcp`. */
export type TcpLabels = Record<(typeof TCP_LABEL_NAMES)[number], string>;

/**
 * Istio 1.5+ histograms use Envoy's default buckets, in milliseconds for durations.
 * Istio's Grafana dashboards assume these boundaries in their `histogram_quantile` queries.
 */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/**
 * Istio's request/response size histograms use the same Envoy default boundaries, read as bytes (so
 * bodies above 3.6 MB land in +Inf). Kept separate so the two can diverge without touching callers.
 */
export const ISTIO_BYTES_BUCKETS: readonly number[] = [...ISTIO_DURATION_BUCKETS_MS];

/** Default bound on cached label combinations per metric family (requests, TCP). */
export const DEFAULT_MAX_CACHED_LABEL_SETS = 10_000;

/** Istio reports a missing peer attribute as `unknown`, never as an empty label. */
export function emptyLabelValue(v: string | undefined): string {
  return v === undefined || v === '' ? 'unknown' : v;
}

interface RequestChildren {
  readonly requests: Counter.Internal;
  readonly duration: Histogram.Internal<string>;
  readonly requestBytes: Histogram.Internal<string>;
  readonly responseBytes: Histogram.Internal<string>;
}

interface TcpChildren {
  readonly opened: Counter.Internal;
  readonly closed: Counter.Internal;
  readonly sent: Counter.Internal;
  readonly received: Counter.Internal;
}

type LabelObject = Record<string, string>;

// Header values cannot carry NUL, so it cannot occur in a label value coming off the wire.
const SEP = '\u0000';

/**
 * The cache key of a label combination, or undefined when a value holds the separator (only a
 * buggy or hostile caller could do that; such calls skip the cache rather than risk a collision).
 */
function cacheKey(names: readonly string[], labels: Readonly<Record<string, string>>): string | undefined {
  let key = '';
  for (const name of names) {
    const v = labels[name] ?? '';
    if (v.includes(SEP)) return undefined;
    key += v + SEP;
  }
  return key;
}

/**
 * A fresh object holding only the declared labels: prom-client keeps the object it is given as the
 * series' labels, and rejects undeclared keys, so the caller's object is never handed over.
 */
function labelObject(names: readonly string[], labels: Readonly<Record<string, string>>): LabelObject {
  const out: LabelObject = {};
  for (const name of names) out[name] = labels[name] ?? '';
  return out;
}

/** prom-client throws on NaN and on negative counter increments; telemetry must never break a request. */
function isAmount(n: number): boolean {
  return Number.isFinite(n) && n >= 0;
}

export interface ProxyMetricsOptions {
  /** Label combinations cached per metric family; past it, calls go uncached. */
  readonly maxCachedLabelSets?: number;
}

/**
 * The proxy's Istio-compatible Prometheus metrics. Bound children are cached per distinct label
 * combination so the hot path skips building a label object and four children per call. prom-client
 * 15 still hashes the labels inside every child `inc`/`observe` (about 2 µs each with 19 labels), so
 * that, not this class, dominates the per-request cost.
 */
export class ProxyMetrics {
  private readonly requestsTotal: Counter<string>;
  private readonly requestDuration: Histogram<string>;
  private readonly requestBytes: Histogram<string>;
  private readonly responseBytes: Histogram<string>;
  private readonly tcpSent: Counter<string>;
  private readonly tcpReceived: Counter<string>;
  private readonly tcpOpened: Counter<string>;
  private readonly tcpClosed: Counter<string>;
  private readonly requestCache = new Map<string, RequestChildren>();
  private readonly tcpCache = new Map<string, TcpChildren>();
  private readonly maxCached: number;

  constructor(registry: Registry, options: ProxyMetricsOptions = {}) {
    this.maxCached = options.maxCachedLabelSets ?? DEFAULT_MAX_CACHED_LABEL_SETS;
    const registers = [registry];
    const requestLabels = [...REQUEST_LABEL_NAMES];
    const tcpLabels = [...TCP_LABEL_NAMES];
    this.requestsTotal = new Counter({
      name: 'weft_requests_total',
      help: 'Requests handled by the proxy (Istio istio_requests_total).',
      labelNames: requestLabels,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'weft_request_duration_milliseconds',
      help: 'Request duration in milliseconds (Istio istio_request_duration_milliseconds).',
      labelNames: requestLabels,
      buckets: [...ISTIO_DURATION_BUCKETS_MS],
      registers,
    });
    this.requestBytes = new Histogram({
      name: 'weft_request_bytes',
      help: 'Request body size in bytes (Istio istio_request_bytes).',
      labelNames: requestLabels,
      buckets: [...ISTIO_BYTES_BUCKETS],
      registers,
    });
    this.responseBytes = new Histogram({
      name: 'weft_response_bytes',
      help: 'Response body size in bytes (Istio istio_response_bytes).',
      labelNames: requestLabels,
      buckets: [...ISTIO_BYTES_BUCKETS],
      registers,
    });
    this.tcpSent = new Counter({
      name: 'weft_tcp_sent_bytes_total',
      help: 'Bytes sent during response on TCP connections (Istio istio_tcp_sent_bytes_total).',
      labelNames: tcpLabels,
      registers,
    });
    this.tcpReceived = new Counter({
      name: 'weft_tcp_received_bytes_total',
      help: 'Bytes received during request on TCP connections (Istio istio_tcp_received_bytes_total).',
      labelNames: tcpLabels,
      registers,
    });
    this.tcpOpened = new Counter({
      name: 'weft_tcp_connections_opened_total',
      help: 'TCP connections opened (Istio istio_tcp_connections_opened_total).',
      labelNames: tcpLabels,
      registers,
    });
    this.tcpClosed = new Counter({
      name: 'weft_tcp_connections_closed_total',
      help: 'TCP connections closed (Istio istio_tcp_connections_closed_total).',
      labelNames: tcpLabels,
      registers,
    });
  }

  /** Label combinations currently cached, for tests and debugging. */
  get cachedLabelSets(): { readonly requests: number; readonly tcp: number } {
    return { requests: this.requestCache.size, tcp: this.tcpCache.size };
  }

  recordRequest(
    labels: RequestLabels,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
  ): void {
    const c = this.requestChildren(labels);
    c.requests.inc();
    if (isAmount(durationMs)) c.duration.observe(durationMs);
    if (isAmount(requestBytes)) c.requestBytes.observe(requestBytes);
    if (isAmount(responseBytes)) c.responseBytes.observe(responseBytes);
  }

  recordTcpOpen(labels: TcpLabels): void {
    this.tcpChildren(labels).opened.inc();
  }

  /** Istio reports TCP bytes per connection too; here they are counted once, when it closes. */
  recordTcpClose(labels: TcpLabels, sentBytes: number, receivedBytes: number): void {
    const c = this.tcpChildren(labels);
    c.closed.inc();
    if (isAmount(sentBytes)) c.sent.inc(sentBytes);
    if (isAmount(receivedBytes)) c.received.inc(receivedBytes);
  }

  private requestChildren(labels: RequestLabels): RequestChildren {
    const key = cacheKey(REQUEST_LABEL_NAMES, labels);
    const hit = key === undefined ? undefined : this.requestCache.get(key);
    if (hit) return hit;
    const obj = labelObject(REQUEST_LABEL_NAMES, labels);
    const children: RequestChildren = {
      requests: this.requestsTotal.labels(obj),
      duration: this.requestDuration.labels(obj),
      requestBytes: this.requestBytes.labels(obj),
      responseBytes: this.responseBytes.labels(obj),
    };
    // Past the bound the children are used once and dropped, so memory stops growing here.
    if (key !== undefined && this.requestCache.size < this.maxCached) this.requestCache.set(key, children);
    return children;
  }

  private tcpChildren(labels: TcpLabels): TcpChildren {
    const key = cacheKey(TCP_LABEL_NAMES, labels);
    const hit = key === undefined ? undefined : this.tcpCache.get(key);
    if (hit) return hit;
    const obj = labelObject(TCP_LABEL_NAMES, labels);
    const children: TcpChildren = {
      opened: this.tcpOpened.labels(obj),
      closed: this.tcpClosed.labels(obj),
      sent: this.tcpSent.labels(obj),
      received: this.tcpReceived.labels(obj),
    };
    if (key !== undefined && this.tcpCache.size < this.maxCached) this.tcpCache.set(key, children);
    return children;
  }
}
