import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { createTestNamespace, ensureCluster, type TestNamespace } from '../helpers/cluster.js';
import { startControlPlane, type RunningControlPlane } from '../helpers/control-plane.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds, startOperator, type RunningOperator } from '../helpers/operator.js';
import { PushTestClient } from '../helpers/push-client.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The control plane against the real local cluster, with test clients that speak the real push
 * protocol: discovery, scoped pushes, ACK and NACK, endpoint-only updates, and a restart.
 */

const PUSH = 'http://127.0.0.1:25010';
const MONITORING = 'http://127.0.0.1:25014';

const apply = async (ns: string, manifest: object): Promise<void> => {
  const res = await kubectlAsync(['apply', '-n', ns, '-f', '-'], JSON.stringify(manifest));
  assert.equal(res.status, 0, res.stderr);
};

const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 9080 }] },
});
const workloadEntry = (name: string, app: string, version: string, address: string) => ({
  apiVersion: 'networking.weft.dev/v1',
  kind: 'WorkloadEntry',
  metadata: { name },
  spec: { address, labels: { app, version }, serviceAccount: app },
});

describe('control plane', () => {
  let kc: KubeConfig;
  let operator: RunningOperator;
  let controlPlane: RunningControlPlane;
  let shop: TestNamespace;
  let other: TestNamespace;
  const meshes = { client: undefined as MeshClient | undefined, name: '' };
  const clients: PushTestClient[] = [];

  const status = async (): Promise<
    { id: string; status: string; sent?: string; acked?: string; nack?: string }[]
  > => (await fetch(`${MONITORING}/debug/proxy-status`)).json() as Promise<{ id: string; status: string }[]>;

  before(async () => {
    kc = await ensureCluster();
    await installCrds();
    await removeLeftoverMeshes(kc);
    operator = await startOperator(['--control-plane-url=https://127.0.0.1:15017', '--leader-elect=false']);
    meshes.client = new MeshClient(kc);
    const mesh = testMesh('cp');
    meshes.name = mesh.metadata.name;
    await meshes.client.create(mesh);
    await meshes.client.waitReady(mesh.metadata.name);
    controlPlane = await startControlPlane([
      '--push-plaintext-address=127.0.0.1:25010',
      '--monitoring-address=127.0.0.1:25014',
      '--webhook-address=127.0.0.1:15017',
    ]);
    shop = await createTestNamespace(kc, 'shop');
    other = await createTestNamespace(kc, 'other');
    for (const name of ['reviews', 'ratings']) await apply(shop.name, service(name));
    await apply(shop.name, workloadEntry('reviews-v1', 'reviews', 'v1', '127.0.20.1'));
    await apply(other.name, service('catalog'));
  });

  after(async () => {
    for (const c of clients) c.close();
    await shop?.cleanup();
    await other?.cleanup();
    if (meshes.client) await meshes.client.deleteAndWait(meshes.name);
    await controlPlane?.stop();
    await operator?.stop();
  });

  function client(namespace: string, app: string): PushTestClient {
    const c = new PushTestClient(PUSH, {
      id: `${app}.${namespace}`,
      role: 'sidecar',
      namespace,
      serviceAccount: app,
      labels: { app, version: 'v1' },
    });
    clients.push(c);
    c.connect();
    return c;
  }

  it('pushes a scoped configuration on connect, and records the ACK', async () => {
    const reviews = client(shop.name, 'reviews');
    const ratingsCluster = `outbound|9080||ratings.${shop.name}.svc.cluster.local`;
    const first = await reviews.snapshotWhere('the ratings service is known', (c) =>
      c.clusters.some((cl) => cl.name === ratingsCluster),
    );
    assert.ok(
      first.config.listeners.some((l) => l.name === 'inbound|9080'),
      'its own service is served inbound',
    );
    assert.equal(first.config.node.identity, `spiffe://cluster.local/ns/${shop.name}/sa/reviews`);
    reviews.answer(first);
    await waitUntil('proxy-status to show the proxy SYNCED', async () => {
      const s = (await status()).find((p) => p.id === reviews.node.id);
      return { done: s?.status === 'SYNCED' && s.acked === first.version, state: s };
    });
  });

  it('sends a VirtualService change to the proxies it concerns, and only to them', async () => {
    const inShop = clients[0]!;
    const inOther = client(other.name, 'catalog');
    const otherFirst = await inOther.next(0);
    inOther.answer(otherFirst);
    const shopCount = inShop.messages.length;
    const otherCount = inOther.messages.length;
    await apply(shop.name, {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      metadata: { name: 'ratings' },
      spec: {
        hosts: ['ratings'],
        exportTo: ['.'],
        http: [{ route: [{ destination: { host: 'ratings' } }], timeout: '3s' }],
      },
    });
    const update = (await inShop.next(shopCount, 'the VirtualService change')) as {
      type: 'snapshot';
      config: ProxyConfig;
      version: string;
      nonce: string;
    };
    const routes = update.config.routes.flatMap((r) => r.virtualHosts.flatMap((vh) => vh.routes));
    assert.ok(
      routes.some((r) => r.name === `${shop.name}/ratings/0` && r.timeoutMs === 3000),
      JSON.stringify(routes.map((r) => r.name)),
    );
    inShop.answer(update);
    // Every proxy is handled in the same pass: by the time the shop proxy has its update, the other had its chance.
    assert.equal(
      inOther.messages.length,
      otherCount,
      'a VirtualService exported only to its namespace must not reach other namespaces',
    );
  });

  it('keeps a NACKed proxy on its last configuration and shows the NACK', async () => {
    const inShop = clients[0]!;
    const count = inShop.messages.length;
    await apply(shop.name, {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      metadata: { name: 'ratings' },
      spec: {
        hosts: ['ratings'],
        exportTo: ['.'],
        http: [{ route: [{ destination: { host: 'ratings' } }], timeout: '4s' }],
      },
    });
    const update = await inShop.next(count, 'the second change');
    inShop.answer(update, 'listener outbound|9080: test refusal');
    await waitUntil('proxy-status to show the NACK', async () => {
      const s = (await status()).find((p) => p.id === inShop.node.id);
      return { done: s?.status === 'NACK' && s.nack === 'listener outbound|9080: test refusal', state: s };
    });
    const metrics = await (await fetch(`${MONITORING}/metrics`)).text();
    assert.match(metrics, /weft_push_nacks_total [1-9]/);
    assert.match(metrics, /weft_push_connected_proxies 2/);
  });

  it('sends only endpoints when only workloads change', async () => {
    const inShop = clients[0]!;
    const count = inShop.messages.length;
    await apply(shop.name, workloadEntry('ratings-v1', 'ratings', 'v1', '127.0.20.2'));
    const update = (await inShop.next(count, 'an endpoints update')) as {
      type: string;
      endpoints?: ProxyConfig['endpoints'];
    };
    assert.equal(update.type, 'endpoints');
    const ratings = update.endpoints?.find(
      (e) => e.cluster === `outbound|9080||ratings.${shop.name}.svc.cluster.local`,
    );
    assert.deepEqual(
      ratings?.endpoints.map((e) => e.address),
      ['127.0.20.2'],
    );
  });

  it('gives a reconnecting proxy the same configuration after a control-plane restart', async () => {
    const inShop = clients[0]!;
    const before = (await (
      await fetch(`${MONITORING}/debug/proxy-config?proxy=${encodeURIComponent(inShop.node.id)}`)
    ).json()) as ProxyConfig;
    await controlPlane.stop('SIGTERM');
    controlPlane = await startControlPlane([
      '--push-plaintext-address=127.0.0.1:25010',
      '--monitoring-address=127.0.0.1:25014',
      '--webhook-address=127.0.0.1:15017',
    ]);
    const again = client(shop.name, 'reviews');
    const snapshot = (await again.next(0, 'a snapshot after the restart')) as { config: ProxyConfig };
    assert.deepEqual(snapshot.config, before);
  });
});
