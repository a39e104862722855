import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  ISTIO_BYTES_BUCKETS,
  ISTIO_DURATION_BUCKETS_MS,
  ProxyMetrics,
  REQUEST_LABEL_NAMES,
  TCP_LABEL_NAMES,
  emptyLabelValue,
  DEFAULT_MAX_SERIES,
} from './metrics.js';
import type { RequestLabels, TcpLabels } from './metrics.js';

function requestLabels(overrides: Partial<RequestLabels> = {}): RequestLabels {
  return {
    reporter: 'destination',
    source_workload: 'productpage-v1',
    source_workload_namespace: 'bookinfo',
    source_principal: 'spiffe://cluster.local/ns/bookinfo/sa/productpage',
    source_app: 'productpage',
    source_version: 'v1',
    destination_workload: 'reviews-v1',
    destination_workload_namespace: 'bookinfo',
    destination_principal: 'spiffe://cluster.local/ns/bookinfo/sa/reviews',
    destination_app: 'reviews',
    destination_version: 'v1',
    destination_service: 'reviews.bookinfo.svc.cluster.local',
    destination_service_name: 'reviews',
    destination_service_namespace: 'bookinfo',
    request_protocol: 'http',
    response_code: '200',
    grpc_response_status: '',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
    ...overrides,
  };
}

function tcpLabels(overrides: Partial<TcpLabels> = {}): TcpLabels {
  const { response_code: _c, grpc_response_status: _g, ...rest } = requestLabels();
  return { ...rest, request_protocol: 'tcp', ...overrides };
}

/** Sample lines of one metric, e.g. `weft_requests_total{...} 2`. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** The value of the one sample of `name` whose line contains every fragment. */
function valueOf(text: string, name: string, ...fragments: string[]): number {
  const lines = samples(text, name).filter((l) => fragments.every((f) => l.includes(f)));
  assert.equal(
    lines.length,
    1,
    `expected one ${name} sample with ${fragments.join(', ')}, got ${lines.length}`,
  );
  return Number(lines[0]!.slice(lines[0]!.lastIndexOf(' ') + 1));
}

describe('ProxyMetrics', () => {
  it('exposes a request with every Istio label and its value', async () => {
    const registry = new Registry();
    const m = new ProxyMetrics(registry);
    m.recordRequest(requestLabels(), 12, 100, 2048);
    m.recordRequest(requestLabels(), 3, 0, 10);
    m.recordRequest(requestLabels({ response_code: '503', response_flags: 'UF' }), 1, 0, 0);
    const text = await registry.metrics();

    const line = samples(text, 'weft_requests_total').find((l) => l.includes('response_code="200"'));
    assert.ok(line);
    for (const [name, value] of Object.entries(requestLabels())) {
      assert.ok(line.includes(`${name}="${value}"`), `missing ${name}="${value}" in ${line}`);
    }
    assert.equal(valueOf(text, 'weft_requests_total', 'response_code="200"'), 2);
    assert.equal(valueOf(text, 'weft_requests_total', 'response_code="503"', 'response_flags="UF"'), 1);
    assert.equal(valueOf(text, 'weft_request_duration_milliseconds_sum', 'response_code="200"'), 15);
    assert.equal(valueOf(text, 'weft_request_duration_milliseconds_count', 'response_code="200"'), 2);
    assert.equal(valueOf(text, 'weft_request_bytes_sum', 'response_code="200"'), 100);
    assert.equal(valueOf(text, 'weft_response_bytes_sum', 'response_code="200"'), 2058);
    assert.match(text, /# TYPE weft_requests_total counter/);
    assert.match(text, /# TYPE weft_request_duration_milliseconds histogram/);
    assert.match(text, /# TYPE weft_request_bytes histogram/);
    assert.match(text, /# TYPE weft_response_bytes histogram/);
  });

  it("uses Istio's (Envoy's default) bucket boundaries", async () => {
    assert.deepEqual(
      [...ISTIO_DURATION_BUCKETS_MS],
      [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
        3600000,
      ],
    );
    assert.deepEqual([...ISTIO_BYTES_BUCKETS], [...ISTIO_DURATION_BUCKETS_MS]);

    const registry = new Registry();
    const m = new ProxyMetrics(registry);
    m.recordRequest(requestLabels(), 7, 1, 4_000_000);
    const text = await registry.metrics();
    const les = (name: string): string[] =>
      samples(text, name).map((l) => /le="([^"]+)"/.exec(l)?.[1] ?? '?');
    const expected = [...ISTIO_DURATION_BUCKETS_MS.map(String), '+Inf'];
    assert.deepEqual(les('weft_request_duration_milliseconds_bucket'), expected);
    assert.deepEqual(les('weft_request_bytes_bucket'), expected);
    assert.deepEqual(les('weft_response_bytes_bucket'), expected);
    // 7 ms lies in (5, 10]; buckets are cumulative.
    assert.equal(valueOf(text, 'weft_request_duration_milliseconds_bucket', 'le="5"'), 0);
    assert.equal(valueOf(text, 'weft_request_duration_milliseconds_bucket', 'le="10"'), 1);
    // A 4 MB body is above the last finite boundary.
    assert.equal(valueOf(text, 'weft_response_bytes_bucket', 'le="3600000"'), 0);
    assert.equal(valueOf(text, 'weft_response_bytes_bucket', 'le="+Inf"'), 1);
    // The request-byte boundary is inclusive: 1 byte lands in le="1".
    assert.equal(valueOf(text, 'weft_request_bytes_bucket', 'le="0.5"'), 0);
    assert.equal(valueOf(text, 'weft_request_bytes_bucket', 'le="1"'), 1);
  });

  it("counts TCP connections and bytes with Istio's TCP labels", async () => {
    const registry = new Registry();
    const m = new ProxyMetrics(registry);
    m.recordTcpOpen(tcpLabels());
    m.recordTcpOpen(tcpLabels());
    m.recordTcpClose(tcpLabels(), 1500, 300);
    m.recordTcpClose(tcpLabels({ response_flags: 'UF' }), 0, 0);
    const text = await registry.metrics();

    assert.equal(valueOf(text, 'weft_tcp_connections_opened_total', 'response_flags="-"'), 2);
    assert.equal(valueOf(text, 'weft_tcp_connections_closed_total', 'response_flags="-"'), 1);
    assert.equal(valueOf(text, 'weft_tcp_connections_closed_total', 'response_flags="UF"'), 1);
    assert.equal(valueOf(text, 'weft_tcp_sent_bytes_total', 'response_flags="-"'), 1500);
    assert.equal(valueOf(text, 'weft_tcp_received_bytes_total', 'response_flags="-"'), 300);
    const line = samples(text, 'weft_tcp_connections_opened_total')[0]!;
    for (const name of TCP_LABEL_NAMES) assert.ok(line.includes(`${name}="`), `missing ${name}`);
    assert.ok(!line.includes('response_code='));
    assert.ok(!line.includes('grpc_response_status='));
    assert.ok(line.includes('request_protocol="tcp"'));
  });

  it('drops invalid amounts instead of throwing into the request path', async () => {
    const registry = new Registry();
    const m = new ProxyMetrics(registry);
    assert.doesNotThrow(() => m.recordRequest(requestLabels(), Number.NaN, -1, Number.POSITIVE_INFINITY));
    assert.doesNotThrow(() => m.recordTcpClose(tcpLabels(), -5, Number.NaN));
    const text = await registry.metrics();
    assert.equal(valueOf(text, 'weft_requests_total', 'response_code="200"'), 1);
    assert.deepEqual(samples(text, 'weft_request_duration_milliseconds_count'), []);
    assert.equal(valueOf(text, 'weft_tcp_connections_closed_total', 'reporter="destination"'), 1);
  });

  it('keeps one series per label combination and counts what overflows the bound', async () => {
    const registry = new Registry();
    const m = new ProxyMetrics(registry, { maxSeries: 3 });
    m.recordRequest(requestLabels(), 1, 1, 1);
    m.recordRequest(requestLabels(), 1, 1, 1);
    assert.equal(m.seriesCount.requests, 1);
    for (let i = 0; i < 10; i++) m.recordRequest(requestLabels({ response_code: String(400 + i) }), 1, 1, 1);
    assert.equal(m.seriesCount.requests, 3);
    // A combination already held is still recorded past the bound; new ones are only counted.
    m.recordRequest(requestLabels({ response_code: '401' }), 1, 1, 1);
    const text = await registry.metrics();
    assert.equal(valueOf(text, 'weft_requests_total', 'response_code="200"'), 2);
    assert.equal(valueOf(text, 'weft_requests_total', 'response_code="401"'), 2);
    assert.equal(samples(text, 'weft_requests_total').length, 3);
    assert.equal(valueOf(text, 'weft_telemetry_series_overflow_total', 'family="request"'), 8);

    for (let i = 0; i < 5; i++) m.recordTcpOpen(tcpLabels({ source_workload: `w${i}` }));
    assert.equal(m.seriesCount.tcp, 3);
    assert.equal(
      valueOf(await registry.metrics(), 'weft_telemetry_series_overflow_total', 'family="tcp"'),
      2,
    );
  });

  it('defaults the bound to 10 000 label combinations per family', () => {
    const m = new ProxyMetrics(new Registry());
    for (let i = 0; i < 10_050; i++) m.recordTcpOpen(tcpLabels({ source_workload: `w${i}` }));
    assert.equal(m.seriesCount.tcp, DEFAULT_MAX_SERIES);
  });

  it('keeps label values containing the key separator apart', async () => {
    const registry = new Registry();
    const m = new ProxyMetrics(registry);
    m.recordRequest(requestLabels({ source_app: 'a\u0000b', source_version: 'c' }), 1, 1, 1);
    m.recordRequest(requestLabels({ source_app: 'a', source_version: 'b\u0000c' }), 1, 1, 1);
    m.recordRequest(requestLabels({ source_app: 'a', source_version: 'b\u0000c' }), 1, 1, 1);
    assert.equal(m.seriesCount.requests, 2);
    const text = await registry.metrics();
    assert.deepEqual(
      samples(text, 'weft_requests_total').map((l) => Number(l.slice(l.lastIndexOf(' ') + 1))),
      [1, 2],
    );
  });

  it('reports the same samples as JSON as in the text format', async () => {
    const registry = new Registry();
    const m = new ProxyMetrics(registry);
    m.recordRequest(requestLabels(), 30, 10, 20);
    const json = await registry.getMetricsAsJSON();
    const duration = json.find((f) => f.name === 'weft_request_duration_milliseconds');
    assert.equal(duration?.type, 'histogram');
    const count = duration?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'weft_request_duration_milliseconds_count',
    );
    assert.equal(count?.value, 1);
    const requests = json.find((f) => f.name === 'weft_requests_total');
    assert.equal(requests?.type, 'counter');
    assert.equal(requests?.values[0]?.value, 1);
    assert.equal(requests?.values[0]?.labels.destination_app, 'reviews');
  });

  it("neither keeps nor rejects the caller's label object", async () => {
    const registry = new Registry();
    const m = new ProxyMetrics(registry);
    const labels = { ...requestLabels(), extra: 'ignored' };
    m.recordRequest(labels, 1, 1, 1);
    labels.destination_app = 'mutated';
    const text = await registry.metrics();
    assert.ok(!text.includes('mutated'));
    assert.ok(!text.includes('extra='));
  });

  it('declares the request labels in the documented set', () => {
    assert.equal(REQUEST_LABEL_NAMES.length, 19);
    assert.deepEqual(
      [...TCP_LABEL_NAMES],
      REQUEST_LABEL_NAMES.filter((n) => n !== 'response_code' && n !== 'grpc_response_status'),
    );
  });
});

describe('emptyLabelValue', () => {
  it("maps missing values to 'unknown' as Istio does", () => {
    assert.equal(emptyLabelValue(undefined), 'unknown');
    assert.equal(emptyLabelValue(''), 'unknown');
    assert.equal(emptyLabelValue('reviews'), 'reviews');
  });
});
