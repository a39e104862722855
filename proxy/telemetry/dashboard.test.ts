import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ProxyMetrics, REQUEST_LABEL_NAMES } from './metrics.js';
import type { RequestLabels, TcpLabels } from './metrics.js';

const DASHBOARD = new URL('../../docs/grafana-dashboard.json', import.meta.url);

interface Target {
  expr?: string;
}
interface Panel {
  type: string;
  title?: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

// Words PromQL gives meaning to that are not followed by '(' (functions and aggregations are).
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'inf',
  'nan',
]);

/**
 * Metric names a PromQL expression selects. A small scanner rather than a parser: strings, label
 * matchers, range/subquery brackets and grouping clauses are removed; what remains that is not a
 * function call, keyword or number is a metric name.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.])[A-Za-z_:][\w:]*/g)) {
    const after = stripped.slice(m.index + m[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

function expressions(d: Dashboard): string[] {
  const fromPanels = panelsOf(d.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const fromVariables = d.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => (typeof v.query === 'string' ? v.query : (v.query?.query ?? '')))
    // label_values(<selector>, <label>): only the selector is PromQL.
    .map((q) => /^label_values\((.*),\s*\w+\)$/.exec(q)?.[1] ?? q);
  return [...fromPanels, ...fromVariables].filter((e) => e !== '');
}

/** Every series name ProxyMetrics exposes, with a sample of each metric recorded. */
async function exposedNames(): Promise<Set<string>> {
  const registry = new Registry();
  const m = new ProxyMetrics(registry);
  const labels = Object.fromEntries(REQUEST_LABEL_NAMES.map((k) => [k, 'x'])) as RequestLabels & TcpLabels;
  m.recordRequest(labels, 1, 1, 1);
  m.recordTcpOpen(labels);
  m.recordTcpClose(labels, 1, 1);
  const text = await registry.metrics();
  return new Set(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(l)?.[0] ?? ''),
  );
}

describe('metricNames', () => {
  it('finds selected metrics and ignores functions, labels, strings and grouping', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.9, sum by (le, destination_service) (rate(a_bucket{x=~"b_c", y!="sum(d)"}[5m]))) / ignoring(z) group_left() sum(b_total offset 5m) or on(q) vector(1)',
      ).sort(),
      ['a_bucket', 'b_total'],
    );
    assert.deepEqual(metricNames('label_names'), ['label_names']);
    assert.deepEqual(metricNames('sum(rate(x[$__rate_interval])) > bool 1e3 offset 5m'), ['x']);
  });
});

describe('docs/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

  it('is a current-schema dashboard with datasource, namespace and workload variables', () => {
    assert.ok(dashboard.schemaVersion >= 36);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    const datasource = vars.get('datasource');
    assert.equal(datasource?.type, 'datasource');
    assert.equal(datasource.query, 'prometheus');
    for (const name of ['namespace', 'workload']) {
      const v = vars.get(name);
      assert.equal(v?.type, 'query', name);
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      assert.match(q ?? '', /^label_values\(/, name);
    }
  });

  it('only queries metrics that ProxyMetrics registers', async () => {
    const exposed = await exposedNames();
    const used = new Set(expressions(dashboard).flatMap(metricNames));
    assert.ok(used.size >= 8, `the dashboard should use the proxy's metrics, found ${[...used].join(', ')}`);
    const unknown = [...used].filter((n) => !exposed.has(n));
    assert.deepEqual(unknown, [], `metrics not exposed by ProxyMetrics: ${unknown.join(', ')}`);
  });

  it('has the panels the mesh views need', () => {
    const exprs = panelsOf(dashboard.panels).map((p) =>
      (p.targets ?? []).map((t) => t.expr ?? '').join('\n'),
    );
    const some = (re: RegExp): boolean => exprs.some((e) => re.test(e));
    assert.ok(some(/sum by \(destination_service\) \(rate\(weft_requests_total/), 'request rate');
    assert.ok(some(/response_code!~"5\.\."/), 'success rate');
    for (const q of ['0.5', '0.9', '0.99']) {
      assert.ok(
        some(new RegExp(`histogram_quantile\\(${q}, .*weft_request_duration_milliseconds_bucket`)),
        q,
      );
    }
    assert.ok(some(/weft_request_bytes_bucket/) && some(/weft_response_bytes_bucket/), 'sizes');
    assert.ok(some(/weft_tcp_sent_bytes_total/) && some(/weft_tcp_received_bytes_total/), 'tcp bytes');
    assert.ok(
      some(/weft_tcp_connections_opened_total/) && some(/weft_tcp_connections_closed_total/),
      'tcp conns',
    );
    assert.ok(some(/by \(response_flags\)/), 'response flags');
    assert.ok(some(/by \(connection_security_policy\)/), 'mTLS share');
  });
});
