import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:http2';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { generateRsaKeyPem, issueCertificate } from '../../controllers/ca/issue.js';
import { createCsr } from '../../proxy/identity/csr.js';
import { newRegistrationToken, REGISTRATION_SECRET } from '../../controllers/ca/registration-tokens.js';
import { spiffeUri } from '../../controllers/ca/signer.js';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { kubectlAsync, status as clusterStatus, up } from '../cluster/local-cluster.js';
import { stopProcess } from '../cluster/processes.js';
import { createTestNamespace, ensureCluster, type TestNamespace } from '../helpers/cluster.js';
import {
  controlPlaneLogs,
  SERVING_TLS,
  SERVING_WEBHOOKS,
  startControlPlane,
  type RunningControlPlane,
} from '../helpers/control-plane.js';
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
const TLS = 'https://127.0.0.1:25012';
const CONTROL_PLANE_ARGS = [
  '--push-plaintext-address=127.0.0.1:25010',
  '--monitoring-address=127.0.0.1:25014',
  '--webhook-address=127.0.0.1:15017',
  '--push-address=127.0.0.1:25012',
];

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
/** A VirtualService for ratings, exported to its namespace only, with a route timeout. */
const ratingsTimeout = (timeout: string) => ({
  apiVersion: 'networking.weft.dev/v1',
  kind: 'VirtualService',
  metadata: { name: 'ratings' },
  spec: {
    hosts: ['ratings'],
    exportTo: ['.'],
    http: [{ route: [{ destination: { host: 'ratings' } }], timeout }],
  },
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
  const meshes = { client: undefined as MeshClient | undefined, name: '', namespace: '' };
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
    meshes.namespace = mesh.spec.namespace!;
    await meshes.client.create(mesh);
    await meshes.client.waitReady(mesh.metadata.name);
    controlPlane = await startControlPlane(CONTROL_PLANE_ARGS);
    await controlPlaneLogs(controlPlane, SERVING_WEBHOOKS);
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

  /** A test proxy for `app` in `namespace`, connected; over TLS with `tls`'s certificate when given. */
  function client(
    namespace: string,
    app: string,
    over: { url?: string; id?: string; tls?: { ca: string; cert: string; key: string } } = {},
  ): PushTestClient {
    const c = new PushTestClient(
      over.url ?? PUSH,
      {
        id: over.id ?? `${app}.${namespace}`,
        role: 'sidecar',
        namespace,
        serviceAccount: app,
        labels: { app, version: 'v1' },
      },
      over.tls,
    );
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
    await waitUntil('proxy-status to show the proxy SYNCED on its latest version', async () => {
      const s = (await status()).find((p) => p.id === reviews.node.id);
      const latest = reviews.messages.filter((m) => m.type === 'snapshot').pop() as
        { version: string } | undefined;
      return { done: s?.status === 'SYNCED' && s.acked === latest?.version, state: s };
    });
  });

  it('sends a VirtualService change to the proxies it concerns, and only to them', async () => {
    const inShop = clients[0]!;
    const inOther = client(other.name, 'catalog');
    await inOther.next(0);
    const shopCount = inShop.messages.length;
    const otherCount = inOther.messages.length;
    await apply(shop.name, ratingsTimeout('3s'));
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
    // Both proxies are in the same push batch (100 per event-loop turn): by the time the shop proxy
    // has its update, the other had its chance.
    assert.equal(
      inOther.messages.length,
      otherCount,
      'a VirtualService exported only to its namespace must not reach other namespaces',
    );
  });

  it('keeps a NACKed proxy on its last configuration and shows the NACK', async () => {
    const inShop = clients[0]!;
    const count = inShop.messages.length;
    inShop.nackNext('listener outbound|9080: test refusal');
    await apply(shop.name, ratingsTimeout('4s'));
    await inShop.next(count, 'the second change');
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
    controlPlane = await startControlPlane(CONTROL_PLANE_ARGS);
    await controlPlaneLogs(controlPlane, SERVING_WEBHOOKS);
    const again = client(shop.name, 'reviews');
    const snapshot = (await again.next(0, 'a snapshot after the restart')) as { config: ProxyConfig };
    assert.deepEqual(snapshot.config, before);
  });

  it('loses no change across a kube-apiserver restart: informers relist and the change arrives', async () => {
    const proxy = clients.at(-1)!; // connected to the restarted control plane
    const apiserver = (await clusterStatus()).find((c) => c.name === 'kube-apiserver');
    assert.ok(apiserver?.pid, `kube-apiserver is not running: ${JSON.stringify(apiserver)}`);
    await stopProcess('kube-apiserver', apiserver.pid);
    await up(() => undefined); // starts what is missing and waits until the cluster is healthy
    // Applied as soon as the API answers, while the control plane's watches are still broken or
    // backing off: only a relist (level-based, not edge-based) can deliver it.
    await apply(shop.name, ratingsTimeout('7s'));
    await proxy.snapshotWhere(
      'the ratings timeout changed after the API server restart is there',
      (c) =>
        c.routes
          .flatMap((r) => r.virtualHosts.flatMap((vh) => vh.routes))
          .some((r) => r.name === `${shop.name}/ratings/0` && r.timeoutMs === 7000),
      90_000,
    );
  });

  describe('certificate authority and the TLS port', () => {
    let root = '';
    const caPost = async (
      token: string | undefined,
      csr: string,
    ): Promise<{ status: number; body: { certChain?: string; error?: string } }> => {
      const session = connect(TLS, { ca: root, servername: 'localhost' });
      try {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/weft.ca.v1/certificates',
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        });
        stream.end(JSON.stringify({ csr }));
        let status = 0;
        let body = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.setEncoding('utf8');
        stream.on('data', (d: string) => (body += d));
        await new Promise((resolve) => stream.on('close', resolve));
        return { status, body: JSON.parse(body) as { certChain?: string; error?: string } };
      } finally {
        session.close();
      }
    };
    const token = async (sa: string): Promise<string> => {
      await kubectlAsync(['create', 'serviceaccount', sa, '-n', shop.name]);
      const res = await kubectlAsync(['create', 'token', sa, '-n', shop.name, '--audience', 'weft-ca']);
      assert.equal(res.status, 0, res.stderr);
      return res.stdout.trim();
    };

    before(async () => {
      const secret = await kc
        .makeApiClient(CoreV1Api)
        .readNamespacedSecret({ name: 'weft-ca-secret', namespace: meshes.namespace });
      root = Buffer.from(secret.data!['root-cert.pem']!, 'base64').toString('utf8');
      await controlPlaneLogs(controlPlane, SERVING_TLS);
    });

    it('signs a CSR for the caller identity proven by its ServiceAccount token, and refuses others', async () => {
      const reviewsToken = await token('reviews');
      const key = generateRsaKeyPem();
      const reviews = { trustDomain: 'cluster.local', namespace: shop.name, serviceAccount: 'reviews' };
      const signed = await caPost(reviewsToken, createCsr(key, spiffeUri(reviews)));
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      const leaf = new X509Certificate(signed.body.certChain!);
      assert.equal(leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${shop.name}/sa/reviews`);
      assert.ok(leaf.verify(new X509Certificate(root).publicKey));

      const foreign = await caPost(
        reviewsToken,
        createCsr(key, spiffeUri({ ...reviews, serviceAccount: 'ratings' })),
      );
      assert.equal(foreign.status, 403);
      assert.match(
        foreign.body.error!,
        /cannot get a certificate for spiffe:\/\/cluster\.local\/ns\/.*\/sa\/ratings/,
      );
      const anonymous = await caPost(undefined, createCsr(key, spiffeUri(reviews)));
      assert.equal(anonymous.status, 401);
      const metrics = await (await fetch(`${MONITORING}/metrics`)).text();
      assert.match(metrics, /weft_ca_certificates_issued_total [1-9]/);
      assert.match(metrics, /weft_ca_certificates_refused_total\{reason="foreign-identity"\} 1/);
      assert.match(metrics, /weft_ca_certificates_refused_total\{reason="unauthenticated"\} 1/);

      // The certificate opens the mTLS push stream, for the identity it names only.
      const tls = { ca: root, cert: signed.body.certChain!, key };
      const proxy = client(shop.name, 'reviews', { url: TLS, id: `reviews-tls.${shop.name}`, tls });
      const impostor = client(shop.name, 'ratings', { url: TLS, id: `ratings-tls.${shop.name}`, tls });
      assert.equal((await proxy.next(0, 'a snapshot over mTLS')).type, 'snapshot');
      await waitUntil('the impostor stream to be closed without configuration', () => ({
        done: impostor.closed,
        state: impostor.messages.map((m) => m.type),
      }));
      assert.equal(impostor.messages.length, 0);
    });

    it('signs for a WorkloadEntry workload that presents its registration token, and only for it', async () => {
      const vm = newRegistrationToken();
      const orphan = newRegistrationToken();
      const created = await kubectlAsync([
        'create',
        'secret',
        'generic',
        REGISTRATION_SECRET,
        '-n',
        meshes.namespace,
        `--from-literal=${shop.name}.reviews=${vm}`,
        `--from-literal=${shop.name}.nobody=${orphan}`,
      ]);
      assert.equal(created.status, 0, created.stderr);
      const key = generateRsaKeyPem();
      const reviews = { trustDomain: 'cluster.local', namespace: shop.name, serviceAccount: 'reviews' };

      const signed = await caPost(vm, createCsr(key, spiffeUri(reviews)));
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      const leaf = new X509Certificate(signed.body.certChain!);
      assert.equal(leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${shop.name}/sa/reviews`);

      const foreign = await caPost(vm, createCsr(key, spiffeUri({ ...reviews, serviceAccount: 'ratings' })));
      assert.equal(foreign.status, 403, JSON.stringify(foreign.body));

      const noWorkload = await caPost(
        orphan,
        createCsr(key, spiffeUri({ ...reviews, serviceAccount: 'nobody' })),
      );
      assert.equal(noWorkload.status, 401);
      assert.match(noWorkload.body.error!, /no WorkloadEntry in .* runs as nobody/);

      const unknown = await caPost(newRegistrationToken(), createCsr(key, spiffeUri(reviews)));
      assert.equal(unknown.status, 401);
      assert.match(
        unknown.body.error!,
        new RegExp(`not in Secret ${meshes.namespace}/${REGISTRATION_SECRET}`),
      );
    });

    it("pushes every root of the CA Secret's root-cert.pem as the proxies' trust bundle, and follows it", async () => {
      const rootsOf = (c: ProxyConfig): string[] =>
        (c.security.trustBundle ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
      const setRoots = async (pem: string): Promise<void> => {
        const patch = { data: { 'root-cert.pem': Buffer.from(pem).toString('base64') } };
        const res = await kubectlAsync([
          'patch',
          'secret',
          'weft-ca-secret',
          '-n',
          meshes.namespace,
          '--type=merge',
          '-p',
          JSON.stringify(patch),
        ]);
        assert.equal(res.status, 0, res.stderr);
      };
      const oldRoot = new X509Certificate(root).fingerprint256;
      const newRootPem = issueCertificate({
        commonName: 'Weft mesh root CA',
        usage: 'ca',
        validDays: 1,
      }).certPem;
      const newRoot = new X509Certificate(newRootPem).fingerprint256;
      const proxy = client(shop.name, 'ratings', { id: `ratings-roots.${shop.name}` });
      await proxy.snapshotWhere('it trusts the mesh root', (c) => rootsOf(c).join() === oldRoot);

      // Phase 1 of a rotation: the new root beside the old one. The control plane re-reads every 30 s.
      await setRoots(root + newRootPem);
      try {
        await proxy.snapshotWhere(
          'it trusts the old and the new root',
          (c) => rootsOf(c).join() === [oldRoot, newRoot].join(),
          90_000,
        );
      } finally {
        await setRoots(root);
      }
      const count = proxy.messages.length;
      await waitUntil(
        'a snapshot trusting the mesh root alone again',
        () => {
          const later = proxy.messages.slice(count).filter((m) => m.type === 'snapshot');
          return {
            done: later.some((m) => rootsOf(m.config).join() === oldRoot),
            state: later.map((m) => rootsOf(m.config)),
          };
        },
        { timeoutMs: 90_000 },
      );
    });
  });
});
