import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { createTestNamespace, type TestNamespace } from '../helpers/cluster.js';
import { startMeshPlatform, type MeshPlatform } from '../helpers/platform.js';
import { startWeftProcess, type RunningProcess } from '../helpers/process.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Real proxies against the real control plane on the real local cluster: each proxy makes its key,
 * gets its certificate from the control plane's CA with its ServiceAccount token, receives its
 * configuration over the mTLS push port, and carries traffic to the other over mesh mTLS.
 *
 * Without traffic capture, each "pod" gets its own loopback address (127.0.0.x), its proxy binds
 * the inbound port there, and a WorkloadEntry points the Service at it. The application listens on
 * that address too: the proxy announces it, and its inbound cluster delivers there (as Istio
 * delivers to the pod IP).
 */

const TLS = 'https://127.0.0.1:26012';
const MONITORING = 'http://127.0.0.1:26014';
const APP_PORT = 19080;
const REVIEWS_ADDRESS = '127.0.0.2';
const REVIEWS_INBOUND = 26106;

interface ProxyPorts {
  outbound: number;
  inbound: number;
  admin: number;
  health: number;
  metrics: number;
}

describe('mesh traffic: real proxies, real control plane, real cluster', () => {
  let kc: KubeConfig;
  let platform: MeshPlatform | undefined;
  let shop: TestNamespace;
  let app: Server;
  let appRequests = 0;
  const proxies: RunningProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'weft-mesh-traffic-'));
  let productpage: ProxyPorts;
  let reviews: ProxyPorts;

  const apply = async (manifest: object): Promise<void> => {
    const res = await kubectlAsync(['apply', '-n', shop.name, '-f', '-'], JSON.stringify(manifest));
    assert.equal(res.status, 0, res.stderr);
  };

  const tokenFile = async (sa: string): Promise<string> => {
    await kubectlAsync(['create', 'serviceaccount', sa, '-n', shop.name]);
    const res = await kubectlAsync([
      'create',
      'token',
      sa,
      '-n',
      shop.name,
      '--audience',
      'weft-ca',
      '--duration',
      '1h',
    ]);
    assert.equal(res.status, 0, res.stderr);
    const file = join(dir, `${sa}.token`);
    writeFileSync(file, res.stdout.trim());
    return file;
  };

  const startProxy = async (
    sa: string,
    address: string,
    inboundPort: number,
    rootFile: string,
  ): Promise<ProxyPorts> => {
    const proc = await startWeftProcess(
      'proxy/main.ts',
      [
        `--control-plane=${TLS}`,
        `--root-cert=${rootFile}`,
        `--token-file=${await tokenFile(sa)}`,
        `--namespace=${shop.name}`,
        `--workload=${sa}-v1`,
        `--service-account=${sa}`,
        `--label=app=${sa}`,
        '--label=version=v1',
        `--bind=${address}`,
        `--inbound-port=${inboundPort}`,
        '--outbound-port=0',
        '--admin-port=0',
        '--health-port=0',
        '--metrics-port=0',
      ],
      '"weft-proxy started"',
    );
    proxies.push(proc);
    const line = proc
      .logs()
      .split('\n')
      .find((l) => l.includes('"weft-proxy started"'))!;
    return (JSON.parse(line) as { ports: ProxyPorts }).ports;
  };

  /** As the application does: to its proxy's outbound port, naming the service in Host (fetch cannot set Host). */
  const get = async (
    ports: ProxyPorts,
    address: string,
    path: string,
  ): Promise<{ status: number; body: string }> => {
    const res = await request(`http://${address}:${ports.outbound}${path}`, {
      headers: { host: `reviews.${shop.name}:${APP_PORT}` },
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    return { status: res.statusCode, body: await res.body.text() };
  };

  before(async () => {
    platform = await startMeshPlatform(
      'traffic',
      [
        '--monitoring-address=127.0.0.1:26014',
        '--webhook-address=127.0.0.1:15017',
        '--push-address=127.0.0.1:26012',
      ],
      'serving certificates and config push over TLS',
    );
    kc = platform.kc;
    shop = await createTestNamespace(kc, 'traffic');
    const rootFile = join(dir, 'root.pem');
    writeFileSync(rootFile, platform.rootPem);

    app = createServer((req, res) => {
      appRequests += 1;
      res.setHeader('content-type', 'text/plain');
      res.end(`reviews v1 says hello to ${req.headers['x-forwarded-client-cert'] ? 'mtls' : 'a peer'}\n`);
    });
    await new Promise<void>((r) => app.listen(APP_PORT, REVIEWS_ADDRESS, () => r()));

    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reviews' },
      spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: APP_PORT }] },
    });
    await apply({
      apiVersion: 'networking.weft.dev/v1',
      kind: 'WorkloadEntry',
      metadata: { name: 'reviews-v1' },
      spec: {
        address: REVIEWS_ADDRESS,
        ports: { http: REVIEWS_INBOUND },
        labels: { app: 'reviews', version: 'v1' },
        serviceAccount: 'reviews',
      },
    });
    reviews = await startProxy('reviews', REVIEWS_ADDRESS, REVIEWS_INBOUND, rootFile);
    productpage = await startProxy('productpage', '127.0.0.3', 0, rootFile);
  });

  after(async () => {
    for (const p of proxies) await p.stop();
    await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
    await shop?.cleanup();
    await platform?.stop();
  });

  it('each proxy gets a SPIFFE certificate from the CA and becomes ready with its configuration', async () => {
    for (const [ports, address, sa] of [
      [productpage, '127.0.0.3', 'productpage'],
      [reviews, REVIEWS_ADDRESS, 'reviews'],
    ] as const) {
      await waitUntil(`${sa}'s proxy to be ready`, async () => {
        const res = await fetch(`http://${address}:${ports.health}/healthz/ready`).catch(() => undefined);
        return {
          done: res?.status === 200,
          state: {
            health: res ? await res.text() : 'no answer',
            logs: proxies.map((p) => p.logs().slice(-1500)),
          },
        };
      });
      const dump = (await (await fetch(`http://127.0.0.1:${ports.admin}/config_dump`)).json()) as {
        identity: string;
        controlPlane: { connected: boolean; lastAcked: string | null };
      };
      assert.equal(dump.identity, `spiffe://cluster.local/ns/${shop.name}/sa/${sa}`);
      assert.equal(dump.controlPlane.connected, true);
      assert.ok(dump.controlPlane.lastAcked, 'the proxy acknowledged a configuration');
    }
    await waitUntil('proxy-status to show both proxies SYNCED', async () => {
      const status = (await (await fetch(`${MONITORING}/debug/proxy-status`)).json()) as {
        id: string;
        status: string;
      }[];
      const mine = status.filter((s) => s.id.endsWith(`.${shop.name}`));
      return { done: mine.length === 2 && mine.every((s) => s.status === 'SYNCED'), state: mine };
    });
  });

  it('carries a request from productpage to reviews over mesh mTLS, with Istio labels on both sides', async () => {
    const res = (await waitUntil('productpage → reviews to answer 200', async () => {
      const r = await get(productpage, '127.0.0.3', '/reviews/1').catch((e: Error) => ({
        status: 0,
        body: e.message,
      }));
      return { done: r.status === 200, state: r };
    })) as { status: number; body: string };
    assert.match(res.body, /reviews v1 says hello/);
    const metrics = await (
      await fetch(`http://${REVIEWS_ADDRESS}:${reviews.metrics}/stats/prometheus`)
    ).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('weft_requests_total{') && l.includes('reporter="destination"'));
    assert.ok(line, metrics);
    assert.match(
      line,
      new RegExp(`source_principal="spiffe://cluster.local/ns/${shop.name}/sa/productpage"`),
    );
    assert.match(line, /connection_security_policy="mutual_tls"/);
    assert.match(line, /source_workload="productpage-v1"/);
    assert.match(line, /response_code="200"/);
  });

  it('applies a VirtualService pushed by the control plane (fault abort), and its removal', async () => {
    await apply({
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews-abort' },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            fault: { abort: { httpStatus: 418, percentage: { value: 100 } } },
            route: [{ destination: { host: 'reviews' } }],
          },
        ],
      },
    });
    await waitUntil('the abort to reach productpage', async () => {
      const r = await get(productpage, '127.0.0.3', '/reviews/2');
      return { done: r.status === 418, state: r };
    });
    const before = appRequests;
    for (let i = 0; i < 5; i++) assert.equal((await get(productpage, '127.0.0.3', '/reviews/2')).status, 418);
    assert.equal(appRequests, before, 'an aborted request never reaches the application');
    const del = await kubectlAsync(['delete', 'virtualservice', 'reviews-abort', '-n', shop.name]);
    assert.equal(del.status, 0, del.stderr);
    await waitUntil('traffic to flow again', async () => {
      const r = await get(productpage, '127.0.0.3', '/reviews/3');
      return { done: r.status === 200, state: r };
    });
  });
});
