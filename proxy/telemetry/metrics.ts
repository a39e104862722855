import { Counter } from './prom-client.js';
import type { Registry } from 'prom-client';
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './series.js';

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

/**
 * Default bound on label combinations per metric family (requests, TCP). Label values come partly
 * from the wire (the Host a client sends becomes destination_service on inbound), so without a bound
 * a client could grow the proxy's memory without limit.
 */
export const DEFAULT_MAX_SERIES = 10_000;

/** Istio reports a missing peer attribute as `unknown`, never as an empty label. */
export function emptyLabelValue(v: string | undefined): string {
  return v === undefined || v === '' ? 'unknown' : v;
}

interface RequestSeries {
  readonly requests: CounterSeries;
  readonly duration: HistogramSeries;
  readonly requestBytes: HistogramSeries;
  readonly responseBytes: HistogramSeries;
}

interface TcpSeries {
  readonly opened: CounterSeries;
  readonly closed: CounterSeries;
  readonly sent: CounterSeries;
  readonly received: CounterSeries;
}

type LabelObject = Record<string, string>;

// Header values cannot carry NUL, so it cannot occur in a label value coming off the wire.
const SEP = '\u0000';

/**
 * The key of a label combination. A value holding the separator (only a buggy or hostile caller)
 * gets a JSON key instead, which cannot collide with a separator-joined one.
 */
function seriesKey(names: readonly string[], labels: Readonly<Record<string, string>>): string {
  let key = '';
  for (const name of names) {
    const v = labels[name] ?? '';
    if (v.includes(SEP)) return JSON.stringify(names.map((n) => labels[n] ?? ''));
    key += v + SEP;
  }
  return key;
}

/**
 * A fresh object holding only the declared labels: the series keeps it, so the caller's object is
 * never held (or mutated later under the series).
 */
function labelObject(names: readonly string[], labels: Readonly<Record<string, string>>): LabelObject {
  const out: LabelObject = {};
  for (const name of names) out[name] = labels[name] ?? '';
  return out;
}

/** Telemetry must never break a request: NaN, infinite and negative amounts are dropped. */
function isAmount(n: number): boolean {
  return Number.isFinite(n) && n >= 0;
}

export interface ProxyMetricsOptions {
  /** Label combinations kept per metric family; past it, new ones are counted as overflow. */
  readonly maxSeries?: number;
}

/**
 * The proxy's Istio-compatible Prometheus metrics. Each distinct label combination is looked up once
 * by a string key and then updated with plain number writes (see series.ts); past `maxSeries`
 * combinations per family, new ones are not recorded but counted in
 * `weft_telemetry_series_overflow_total`, so a flood of distinct Host headers cannot exhaust memory.
 */
export class ProxyMetrics {
  private readonly requestsTotal: CounterFamily;
  private readonly requestDuration: HistogramFamily;
  private readonly requestBytes: HistogramFamily;
  private readonly responseBytes: HistogramFamily;
  private readonly tcpSent: CounterFamily;
  private readonly tcpReceived: CounterFamily;
  private readonly tcpOpened: CounterFamily;
  private readonly tcpClosed: CounterFamily;
  private readonly overflow: Counter<'family'>;
  private readonly requestSeries = new Map<string, RequestSeries>();
  private readonly tcpSeries = new Map<string, TcpSeries>();
  private readonly maxSeries: number;

  constructor(registry: Registry, options: ProxyMetricsOptions = {}) {
    this.maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    // Istio's metric names with the weft_ prefix; the help says which Istio metric each mirrors.
    const counter = (name: string, istio: string, what: string, labels: readonly string[]): CounterFamily =>
      new CounterFamily({ name, help: `${what} (Istio ${istio}).`, labelNames: labels, registry });
    const histogram = (
      name: string,
      istio: string,
      what: string,
      buckets: readonly number[],
    ): HistogramFamily =>
      new HistogramFamily({
        name,
        help: `${what} (Istio ${istio}).`,
        labelNames: REQUEST_LABEL_NAMES,
        buckets,
        registry,
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
    this.overflow = new Counter({
      name: 'weft_telemetry_series_overflow_total',
      help: 'Observations not recorded because their metric family already holds its maximum of label combinations.',
      labelNames: ['family'],
      registers: [registry],
    });
  }

  /** Label combinations currently held, for tests and debugging. */
  get seriesCount(): { readonly requests: number; readonly tcp: number } {
    return { requests: this.requestSeries.size, tcp: this.tcpSeries.size };
  }

  recordRequest(
    labels: RequestLabels,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
  ): void {
    const s = this.seriesOfRequest(labels);
    if (!s) return;
    s.requests.inc();
    if (isAmount(durationMs)) s.duration.observe(durationMs);
    if (isAmount(requestBytes)) s.requestBytes.observe(requestBytes);
    if (isAmount(responseBytes)) s.responseBytes.observe(responseBytes);
  }

  recordTcpOpen(labels: TcpLabels): void {
    this.seriesOfTcp(labels)?.opened.inc();
  }

  /** Istio reports TCP bytes per connection too; here they are counted once, when it closes. */
  recordTcpClose(labels: TcpLabels, sentBytes: number, receivedBytes: number): void {
    const s = this.seriesOfTcp(labels);
    if (!s) return;
    s.closed.inc();
    if (isAmount(sentBytes)) s.sent.inc(sentBytes);
    if (isAmount(receivedBytes)) s.received.inc(receivedBytes);
  }

  private seriesOfRequest(labels: RequestLabels): RequestSeries | undefined {
    const key = seriesKey(REQUEST_LABEL_NAMES, labels);
    const hit = this.requestSeries.get(key);
    if (hit) return hit;
    if (this.requestSeries.size >= this.maxSeries) {
      this.overflow.inc({ family: 'request' });
      return undefined;
    }
    const obj = labelObject(REQUEST_LABEL_NAMES, labels);
    const series: RequestSeries = {
      requests: this.requestsTotal.add(obj),
      duration: this.requestDuration.add(obj),
      requestBytes: this.requestBytes.add(obj),
      responseBytes: this.responseBytes.add(obj),
    };
    this.requestSeries.set(key, series);
    return series;
  }

  private seriesOfTcp(labels: TcpLabels): TcpSeries | undefined {
    const key = seriesKey(TCP_LABEL_NAMES, labels);
    const hit = this.tcpSeries.get(key);
    if (hit) return hit;
    if (this.tcpSeries.size >= this.maxSeries) {
      this.overflow.inc({ family: 'tcp' });
      return undefined;
    }
    const obj = labelObject(TCP_LABEL_NAMES, labels);
    const series: TcpSeries = {
      opened: this.tcpOpened.add(obj),
      closed: this.tcpClosed.add(obj),
      sent: this.tcpSent.add(obj),
      received: this.tcpReceived.add(obj),
    };
    this.tcpSeries.set(key, series);
    return series;
  }
}
