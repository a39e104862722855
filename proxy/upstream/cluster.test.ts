import assert from 'node:assert/strict';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { compileConfig, validateProxyConfig, type CompiledConfig } from '../config/compile.js';
import type { Cluster, Endpoint, ProxyConfig } from '../config/generated/proxy-config.js';
import { upstreamHost } from './host.js';

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

/** Sends GET / through the cluster's pool for `endpoint`; resolves with the status and the body. */
function get(
  config: CompiledConfig,
  name: string,
  endpoint: Endpoint,
): Promise<{ status: number; body: string }> {
  const pool = config.clusters.get(name)!.dispatcher(upstreamHost(endpoint));
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = '';
    pool.dispatch(
      { method: 'GET', path: '/', headers: { host: 'svc' }, body: null, origin: 'http://svc' },
      {
        onRequestStart: () => undefined,
        onResponseStart: (_c, s) => void (status = s),
        onResponseData: (_c, chunk) => void (body += chunk.toString()),
        onResponseEnd: () => resolve({ status, body }),
        onResponseError: (_c, err) => reject(err),
      },
    );
  });
}

/** Each server answers with the HTTP version its request came in (`1.1` or `2.0`). */
async function listen(server: Server | Http2Server, host: string): Promise<number> {
  server.on(
    'request',
    (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) =>
      res.end(req.httpVersion),
  );
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

describe('UpstreamCluster pools: the protocol an http cluster speaks to its hosts', () => {
  const servers: (Server | Http2Server)[] = [];
  after(() => servers.forEach((s) => s.close()));
  const serve = async (server: Server | Http2Server, host = '127.0.0.1') => {
    servers.push(server);
    return listen(server, host);
  };

  it('is HTTP/1.1 unless connectionPool.http2Upgrade, then HTTP/2 (h2c with prior knowledge in plaintext)', async () => {
    const h1 = await serve(createHttpServer());
    const h2c = await serve(createHttp2Server());
    const config = compile([plain(HEALTHY), { ...plain(FAILING), connectionPool: { http2Upgrade: true } }]);
    assert.deepEqual(await get(config, HEALTHY, { address: '127.0.0.1', port: h1 }), {
      status: 200,
      body: '1.1',
    });
    assert.deepEqual(await get(config, FAILING, { address: '127.0.0.1', port: h2c }), {
      status: 200,
      body: '2.0',
    });
    await Promise.all([...config.clusters.values()].map((c) => c.close()));
  });

  it('reaches an IPv6 endpoint over HTTP/1.1 (its origin needs the address in brackets)', async () => {
    const port = await serve(createHttpServer(), '::1');
    const config = compile([plain(HEALTHY)]);
    assert.deepEqual(await get(config, HEALTHY, { address: '::1', port }), { status: 200, body: '1.1' });
    await Promise.all([...config.clusters.values()].map((c) => c.close()));
  });
});
