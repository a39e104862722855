import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig, validateProxyConfig, type CompiledConfig } from '../config/compile.js';
import type { Cluster, ProxyConfig } from '../config/generated/proxy-config.js';

const FAILING = 'outbound|80||failing.default.svc.cluster.local';
const HEALTHY = 'outbound|80||healthy.default.svc.cluster.local';

function configWith(clusters: Cluster[]): ProxyConfig {
  return validateProxyConfig({
    version: 'weft.proxy/v1',
    node: { id: 'client.default', role: 'sidecar', namespace: 'default' },
    listeners: [],
    routes: [],
    clusters,
    endpoints: [],
    security: { mtls: { mode: 'PERMISSIVE' }, authorization: { deny: [], allow: [], audit: [] } },
  });
}

const plain = (name: string): Cluster => ({ name, type: 'eds', protocol: 'http' });

function compile(clusters: Cluster[], previous?: CompiledConfig): CompiledConfig {
  return compileConfig(configWith(clusters), previous, { credentials: () => undefined }).compiled;
}

/** Takes retry slots until the budget refuses one; returns how many it granted. */
function saturate(config: CompiledConfig, name: string): number {
  const budget = config.clusters.get(name)!.retryBudget;
  let granted = 0;
  while (budget.tryStart(1)) granted++;
  return granted;
}

describe('UpstreamCluster retry budget', () => {
  it('is per cluster: a saturated cluster does not block retries to another', () => {
    const config = compile([plain(FAILING), plain(HEALTHY)]);
    assert.equal(saturate(config, FAILING), 3, "Envoy's minimum retry concurrency");
    assert.equal(config.clusters.get(FAILING)!.retryBudget.tryStart(1), false);
    assert.equal(
      config.clusters.get(HEALTHY)!.retryBudget.tryStart(1),
      true,
      'the other service still retries',
    );
  });

  it('survives a push that keeps the cluster, and starts fresh for a changed one', () => {
    const first = compile([plain(FAILING), plain(HEALTHY)]);
    saturate(first, FAILING);
    saturate(first, HEALTHY);
    const second = compile(
      [plain(FAILING), { ...plain(HEALTHY), connectionPool: { maxConnections: 10 } }],
      first,
    );
    assert.equal(
      second.clusters.get(FAILING)!.retryBudget.activeRetries,
      3,
      'retries in flight still counted',
    );
    assert.equal(second.clusters.get(FAILING)!.retryBudget.tryStart(1), false);
    assert.equal(second.clusters.get(HEALTHY)!.retryBudget.tryStart(1), true, 'new settings, new runtime');
  });
});
