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
type RequestLabelName = (typeof REQUEST_LABEL_NAMES)[number];
type ResponseOnly = 'response_code' | 'grpc_response_status';
export const TCP_LABEL_NAMES: readonly Exclude<RequestLabelName, ResponseOnly>[] = REQUEST_LABEL_NAMES.filter(
  (n): n is Exclude<RequestLabelName, ResponseOnly> => n !== 'response_code' && n !== 'grpc_response_status',
);

/**
 * Labels of one HTTP or gRPC request. `reporter` is `source` (client-side proxy) or `destination`
 * (server-side proxy); `request_protocol` is `http` or `grpc`; `response_flags` is `-` when none;
 * `grpc_response_status` is `''` for non-gRPC traffic, as in Istio; `connection_security_policy` is
 * `mutual_tls`, `none`, or `unknown` (always `unknown` when the reporter is `source`).
 */
export type RequestLabels = Record<RequestLabelName, string>;

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
    // Istio's metric names with the weft_ prefix; the help says which Istio metric each mirrors.
    const counter = (name: string, istio: string, what: string, labels: readonly string[]): Counter<string> =>
      new Counter({
        name,
        help: `${what} (Istio ${istio}).`,
        labelNames: [...labels],
        registers: [registry],
      });
    const histogram = (
      name: string,
      istio: string,
      what: string,
      buckets: readonly number[],
    ): Histogram<string> =>
      new Histogram({
        name,
        help: `${what} (Istio ${istio}).`,
        labelNames: [...REQUEST_LABEL_NAMES],
        buckets: [...buckets],
        registers: [registry],
      });
    this.requestsTotal = counter(
      'weft_requests_total',
      'istio_requests_total',
      'Requests handled by the proxy',
      REQUEST_LABEL_NAMES,
    );
    this.requestDuration = histogram(
      'weft_request_duration_milliseconds',
      'istio_request_duration_milliseconds',
      'Request duration in milliseconds',
      ISTIO_DURATION_BUCKETS_MS,
    );
    this.requestBytes = histogram(
      'weft_request_bytes',
      'istio_request_bytes',
      'Request body size in bytes',
      ISTIO_BYTES_BUCKETS,
    );
    this.responseBytes = histogram(
      'weft_response_bytes',
      'istio_response_bytes',
      'Response body size in bytes',
      ISTIO_BYTES_BUCKETS,
    );
    this.tcpSent = counter(
      'weft_tcp_sent_bytes_total',
      'istio_tcp_sent_bytes_total',
      'Bytes sent during response on TCP connections',
      TCP_LABEL_NAMES,
    );
    this.tcpReceived = counter(
      'weft_tcp_received_bytes_total',
      'istio_tcp_received_bytes_total',
      'Bytes received during request on TCP connections',
      TCP_LABEL_NAMES,
    );
    this.tcpOpened = counter(
      'weft_tcp_connections_opened_total',
      'istio_tcp_connections_opened_total',
      'TCP connections opened',
      TCP_LABEL_NAMES,
    );
    this.tcpClosed = counter(
      'weft_tcp_connections_closed_total',
      'istio_tcp_connections_closed_total',
      'TCP connections closed',
      TCP_LABEL_NAMES,
    );
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
