import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { kubectl } from '../cluster/local-cluster.js';
import { createTestNamespace, ensureCluster, listLabelled, MESH_CHILD_KINDS } from '../helpers/cluster.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { httpGet, installCrds, startOperator, type RunningOperator } from '../helpers/operator.js';
import { waitUntil } from '../helpers/wait.js';

/** The Mesh operator against the real local cluster: one Mesh in, a whole control plane out. */

/** The kinds the sample Mesh renders (no root-certificate ConfigMap: no namespace is injected). */
const CHILD_KINDS = MESH_CHILD_KINDS.filter((k) => k.kind !== 'ConfigMap');

/** A Mesh's children: cluster-scoped ones, and namespaced ones in the mesh namespace. */
async function listChildren(
  kc: KubeConfig,
  meshName: string,
  namespace: string,
): Promise<KubernetesObject[]> {
  const selector = `weft.dev/mesh=${meshName}`;
  return [
    ...(await listLabelled(
      kc,
      CHILD_KINDS.filter((k) => !k.namespaced),
      selector,
    )),
    ...(await listLabelled(
      kc,
      CHILD_KINDS.filter((k) => k.namespaced),
      selector,
      namespace,
    )),
  ];
}

const describeChild = (o: KubernetesObject): string => `${o.kind}/${o.metadata?.name}`;

describe('Mesh operator', () => {
  let kc: KubeConfig;
  let meshes: MeshClient;
  let operator: RunningOperator;
  const created: string[] = [];

  before(async () => {
    kc = await ensureCluster();
    await installCrds();
    await removeLeftoverMeshes(kc);
    meshes = new MeshClient(kc);
    operator = await startOperator(['--control-plane-url=https://127.0.0.1:15017']);
  });
  afterEach(async () => {
    for (const name of created.splice(0)) await meshes.deleteAndWait(name);
  });
  after(async () => {
    const code = await operator?.stop('SIGTERM');
    assert.equal(
      code,
      0,
      `the operator must exit cleanly on SIGTERM; log:\n${operator?.logs().slice(-3000)}`,
    );
  });

  it('creates every child with owner references, reports Ready, and shows it in kubectl', async () => {
    const mesh = testMesh('ready');
    const ns = mesh.spec.namespace!;
    const stored = await meshes.create(mesh);
    created.push(mesh.metadata.name);

    const expected = [
      `Namespace/${ns}`,
      ...['ServiceAccount', 'Service', 'Deployment'].flatMap((k) => [
        `${k}/weft-control-plane`,
        `${k}/ingress`,
      ]),
      'Secret/weft-ca-secret',
      'PodDisruptionBudget/weft-control-plane',
      'Role/weft-control-plane',
      'RoleBinding/weft-control-plane',
      // The gateway's namespace (the mesh's, here): get on the Secrets its servers name (ADR 0011).
      'Role/weft-control-plane-gateway-credentials',
      'RoleBinding/weft-control-plane-gateway-credentials',
      `ClusterRole/weft-control-plane-${mesh.metadata.name}`,
      `ClusterRoleBinding/weft-control-plane-${mesh.metadata.name}`,
      'MutatingWebhookConfiguration/weft-sidecar-injector',
      'ValidatingWebhookConfiguration/weft-validator',
    ].sort();
    await waitUntil(
      'every child of the Mesh to exist',
      async () => {
        const found = (await listChildren(kc, mesh.metadata.name, ns)).map(describeChild).sort();
        return { done: isDeepStrictEqual(found, expected), state: { found, expected } };
      },
      { timeoutMs: 10_000 },
    );
    for (const child of await listChildren(kc, mesh.metadata.name, ns)) {
      const owner = child.metadata?.ownerReferences?.[0];
      assert.equal(owner?.uid, stored.metadata?.uid, `${describeChild(child)} must be owned by the Mesh`);
      assert.equal(owner?.controller, true);
    }

    const ready = await meshes.waitReady(mesh.metadata.name);
    for (const type of [
      'Reconciled',
      'CertificateAuthorityReady',
      'ControlPlaneReady',
      'GatewaysReady',
      'WebhooksReady',
      'Ready',
    ]) {
      const c = meshes.condition(ready, type);
      assert.equal(c?.status, 'True', `${type}: ${JSON.stringify(c)}`);
      assert.equal(c?.observedGeneration, ready.metadata?.generation);
      assert.match(c?.reason ?? '', /^[A-Z][A-Za-z]+$/);
    }
    assert.equal(ready.status?.state, 'Healthy');
    assert.equal(ready.status?.controlPlane?.readyReplicas, 1);
    assert.match(
      ready.status?.certificateAuthority?.rootFingerprintSHA256 ?? '',
      /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/,
    );

    const root = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: 'weft-ca-secret', namespace: ns });
    assert.ok(root.data?.['ca-key.pem'], 'the CA key is stored in the CA Secret');
    assert.ok(!JSON.stringify(ready.status).includes('PRIVATE KEY'), 'the CA key never appears in status');
    assert.ok(!operator.logs().includes('PRIVATE KEY'), 'the CA key is never logged');

    const get = kubectl(['get', 'mesh', mesh.metadata.name]);
    assert.match(get.stdout, /^NAME\s+READY\s+STATE\s+VERSION\s+AGE/);
    assert.match(get.stdout, new RegExp(`${mesh.metadata.name}\\s+True\\s+Healthy\\s+0\\.1\\.0`));
    await waitUntil('kubectl describe to show conditions and the MeshReady event', () => {
      const described = kubectl(['describe', 'mesh', mesh.metadata.name]).stdout;
      return {
        done:
          /Conditions:/.test(described) &&
          /Type:\s+ControlPlaneReady/.test(described) &&
          /MeshReady/.test(described),
        state: described,
      };
    });
  });

  it('does not hot-loop: once Ready, nothing it owns is written for 60 s', async () => {
    const mesh = testMesh('quiet');
    await meshes.create(mesh);
    created.push(mesh.metadata.name);
    await meshes.waitReady(mesh.metadata.name);
    const versions = async (): Promise<Record<string, string | undefined>> => {
      const objects = [
        ...(await listChildren(kc, mesh.metadata.name, mesh.spec.namespace!)),
        (await meshes.get(mesh.metadata.name))!,
      ];
      return Object.fromEntries(
        objects.map((o) => [
          `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`,
          o.metadata?.resourceVersion,
        ]),
      );
    };
    // Let any last status write from the Ready transition land before taking the baseline.
    const baseline = await versions();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const now = await versions();
      const changed = Object.keys(baseline).filter((k) => now[k] !== baseline[k]);
      assert.deepEqual(changed, [], `written while idle: ${changed.join(', ')}`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  });

  it('repairs drift: a deleted Deployment and an edited replica count are restored', async () => {
    const mesh = testMesh('drift');
    const ns = mesh.spec.namespace!;
    await meshes.create(mesh);
    created.push(mesh.metadata.name);
    await meshes.waitReady(mesh.metadata.name);
    const apps = kc.makeApiClient(AppsV1Api);

    const before = await apps.readNamespacedDeployment({ name: 'weft-control-plane', namespace: ns });
    await apps.deleteNamespacedDeployment({ name: 'weft-control-plane', namespace: ns });
    await waitUntil(
      'the control-plane Deployment to be re-created',
      async () => {
        const d = await apps
          .readNamespacedDeployment({ name: 'weft-control-plane', namespace: ns })
          .catch(() => undefined);
        return { done: !!d && d.metadata?.uid !== before.metadata?.uid, state: d?.metadata };
      },
      { timeoutMs: 10_000 },
    );

    kubectl(['-n', ns, 'scale', 'deployment', 'ingress', '--replicas=4']);
    await waitUntil(
      'the gateway replica count to be restored to 1',
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'ingress', namespace: ns });
        return { done: d.spec?.replicas === 1, state: d.spec?.replicas };
      },
      { timeoutMs: 10_000 },
    );
  });

  it('rolls out a spec change, and observedGeneration follows', async () => {
    const mesh = testMesh('rollout');
    const ns = mesh.spec.namespace!;
    await meshes.create(mesh);
    created.push(mesh.metadata.name);
    await meshes.waitReady(mesh.metadata.name);

    const patched = kubectl([
      'patch',
      'mesh',
      mesh.metadata.name,
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/gateways/0/replicas","value":3}]',
    ]);
    assert.equal(patched.status, 0, patched.stderr);
    const ready = await meshes.waitReady(mesh.metadata.name);
    assert.equal(ready.metadata?.generation, 2);
    assert.equal(ready.status?.gateways?.[0]?.replicas, 3);
    assert.equal(ready.status?.gateways?.[0]?.readyReplicas, 3);
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'ingress', namespace: ns });
    assert.equal(d.spec?.replicas, 3);
  });

  it('leaves alone a child marked weft.dev/ignore, and a caBundle another manager owns', async () => {
    const mesh = testMesh('ignore');
    const ns = mesh.spec.namespace!;
    await meshes.create(mesh);
    created.push(mesh.metadata.name);
    await meshes.waitReady(mesh.metadata.name);

    kubectl(['-n', ns, 'annotate', 'deployment', 'weft-control-plane', 'weft.dev/ignore=true']);
    kubectl(['-n', ns, 'scale', 'deployment', 'weft-control-plane', '--replicas=2']);
    const bundle = Buffer.from(
      '-----BEGIN CERTIFICATE-----\nrotated by the control plane\n-----END CERTIFICATE-----\n',
    ).toString('base64');
    const rotated = kubectl([
      'patch',
      'mutatingwebhookconfiguration',
      'weft-sidecar-injector',
      '--type=json',
      '--field-manager=weft-control-plane',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: bundle }]),
    ]);
    assert.equal(rotated.status, 0, rotated.stderr);

    // A spec change makes the operator reconcile everything; once it reports the new generation it has passed both children.
    kubectl([
      'patch',
      'mesh',
      mesh.metadata.name,
      '--type=merge',
      '-p',
      '{"spec":{"proxy":{"logLevel":"debug"}}}',
    ]);
    await waitUntil('the operator to reconcile generation 2', async () => {
      const m = await meshes.get(mesh.metadata.name);
      return { done: m?.status?.observedGeneration === 2, state: m?.status };
    });
    const d = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'weft-control-plane', namespace: ns });
    assert.equal(d.spec?.replicas, 2, 'an ignored child keeps its hand edits');
    const webhook = await KubernetesObjectApi.makeApiClient(kc).read<V1MutatingWebhookConfiguration>({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'weft-sidecar-injector' },
    });
    assert.equal(
      webhook.webhooks?.[0]?.clientConfig.caBundle,
      bundle,
      'the operator must not take the caBundle back',
    );
  });

  it('reports a missing or malformed plug-in CA precisely, breaking nothing else', async () => {
    const mesh = testMesh('plugin', {
      security: { certificateAuthority: { existingSecret: { name: 'cacerts' } } },
    });
    const ns = mesh.spec.namespace!;
    await meshes.create(mesh);
    created.push(mesh.metadata.name);
    const missing = await meshes.waitCondition(
      mesh.metadata.name,
      'CertificateAuthorityReady',
      'False',
      'SecretNotFound',
    );
    assert.match(
      meshes.condition(missing, 'CertificateAuthorityReady')!.message,
      new RegExp(`${ns}/cacerts`),
    );
    assert.equal(meshes.condition(missing, 'Ready')?.status, 'False');
    await waitUntil('the control plane to be created despite the CA problem', async () => {
      const m = await meshes.get(mesh.metadata.name);
      return { done: meshes.condition(m, 'ControlPlaneReady')?.status === 'True', state: m?.status };
    });

    const core = kc.makeApiClient(CoreV1Api);
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'cacerts' },
        data: {
          'ca-cert.pem': b64('not a certificate'),
          'ca-key.pem': b64('x'),
          'root-cert.pem': b64('x'),
          'cert-chain.pem': b64('x'),
        },
      },
    });
    const malformed = await meshes.waitCondition(
      mesh.metadata.name,
      'CertificateAuthorityReady',
      'False',
      'MalformedCertificate',
    );
    assert.match(meshes.condition(malformed, 'CertificateAuthorityReady')!.message, /ca-cert\.pem/);
  });

  it('removes every child, cluster-scoped ones included, when the Mesh is deleted', async () => {
    const mesh = testMesh('delete');
    const ns = mesh.spec.namespace!;
    await meshes.create(mesh);
    await meshes.waitReady(mesh.metadata.name);
    await meshes.deleteAndWait(mesh.metadata.name, 30_000);
    await waitUntil(
      'every child of the deleted Mesh to be gone',
      async () => {
        const left = await listChildren(kc, mesh.metadata.name, ns);
        const nsGone =
          (await kc
            .makeApiClient(CoreV1Api)
            .readNamespace({ name: ns })
            .catch(() => undefined)) === undefined;
        return { done: left.length === 0 && nsGone, state: { left: left.map(describeChild), nsGone } };
      },
      { timeoutMs: 30_000 },
    );
  });

  it('publishes the root certificate to namespaces selected for injection, and withdraws it', async () => {
    const mesh = testMesh('rootcert');
    await meshes.create(mesh);
    created.push(mesh.metadata.name);
    const ready = await meshes.waitReady(mesh.metadata.name);
    const app = await createTestNamespace(kc, 'app', { 'weft.dev/inject': 'enabled' });
    const core = kc.makeApiClient(CoreV1Api);
    try {
      const cm = (await waitUntil('ConfigMap weft-ca-root-cert in the injected namespace', async () => {
        const found = await core
          .readNamespacedConfigMap({ name: 'weft-ca-root-cert', namespace: app.name })
          .catch(() => undefined);
        return { done: !!found, state: found };
      })) as { data?: Record<string, string> };
      const root = new X509Certificate(cm.data?.['root-cert.pem'] ?? '');
      assert.equal(root.fingerprint256, ready.status?.certificateAuthority?.rootFingerprintSHA256);

      kubectl(['label', 'namespace', app.name, 'weft.dev/inject-']);
      await waitUntil('the root certificate to be withdrawn once the namespace leaves the mesh', async () => {
        const found = await core
          .readNamespacedConfigMap({ name: 'weft-ca-root-cert', namespace: app.name })
          .catch(() => undefined);
        return { done: !found, state: found?.metadata };
      });
    } finally {
      await app.cleanup();
    }
  });

  it('reconciles only one Mesh: a second one stands aside and says why', async () => {
    const first = testMesh('first');
    const second = testMesh('second');
    await meshes.create(first);
    created.push(first.metadata.name);
    await meshes.waitReady(first.metadata.name);
    await meshes.create(second);
    created.unshift(second.metadata.name);
    const aside = await meshes.waitCondition(
      second.metadata.name,
      'Reconciled',
      'False',
      'AnotherMeshActive',
    );
    assert.match(
      meshes.condition(aside, 'Reconciled')!.message,
      new RegExp(`Mesh ${first.metadata.name} already manages this cluster`),
    );
    assert.equal(aside.status?.state, 'AnotherMeshActive');
    const stillReady = await meshes.waitReady(first.metadata.name);
    assert.equal(stillReady.status?.state, 'Healthy');
    assert.equal(
      await kc
        .makeApiClient(CoreV1Api)
        .readNamespace({ name: second.spec.namespace! })
        .catch(() => undefined),
      undefined,
    );
  });

  it('serves health, readiness and reconcile metrics', async () => {
    assert.equal((await httpGet(operator.ports.probes, '/healthz')).status, 200);
    assert.equal((await httpGet(operator.ports.probes, '/readyz')).status, 200);
    const metrics = (await httpGet(operator.ports.metrics, '/metrics')).body;
    assert.match(
      metrics,
      /weft_operator_reconcile_total\{controller="mesh",result="(success|requeue_after)"\} [1-9]/,
    );
    assert.match(metrics, /weft_operator_reconcile_duration_seconds_bucket\{le="[^"]+",controller="mesh"\}/);
    assert.match(metrics, /weft_operator_workqueue_depth\{controller="mesh"\}/);
    assert.match(metrics, /weft_operator_leader 1/);
  });
});

describe('Mesh validation by the CRD schema and CEL', () => {
  before(async () => {
    await ensureCluster();
    await installCrds();
  });

  const refused: [string, object, RegExp][] = [
    [
      'a trust domain that is not a DNS name',
      { security: { trustDomain: 'Not_A_Domain' } },
      /spec\.security\.trustDomain/,
    ],
    [
      'a TTL that is not a duration',
      { security: { workloadCertTTL: '24 hours' } },
      /spec\.security\.workloadCertTTL/,
    ],
    [
      'a TTL outside 1h..2160h',
      { security: { workloadCertTTL: '10m' } },
      /workloadCertTTL must be between 1h and 2160h/,
    ],
    [
      'an unknown mTLS mode',
      { security: { mtls: { mode: 'STRIKT' } } },
      /spec\.security\.mtls\.mode: Unsupported value: "STRIKT"/,
    ],
    [
      'RevisionBased upgrades, not available yet',
      { updateStrategy: { type: 'RevisionBased' } },
      /spec\.updateStrategy\.type: Unsupported value/,
    ],
    [
      'two CA sources',
      { security: { certificateAuthority: { selfSigned: {}, existingSecret: { name: 'x' } } } },
      /exactly one of selfSigned or existingSecret/,
    ],
    ['an unknown field', { replicas: 3 }, /unknown field "spec\.replicas"/],
    [
      'a gateway Service without ports',
      { gateways: [{ name: 'gw', service: { ports: [] } }] },
      /spec\.gateways\[0\]\.service\.ports/,
    ],
    [
      'a duplicate gateway name',
      { gateways: [{ name: 'gw' }, { name: 'gw' }] },
      /spec\.gateways\[1\]: Duplicate value/,
    ],
  ];
  for (const [what, spec, message] of refused) {
    it(`refuses ${what}, naming the field`, () => {
      const mesh = {
        apiVersion: 'mesh.weft.dev/v1alpha1',
        kind: 'Mesh',
        metadata: { name: 'invalid' },
        spec,
      };
      const res = kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(mesh));
      assert.notEqual(res.status, 0, `must be refused: ${JSON.stringify(spec)}`);
      assert.match(res.stderr, message);
    });
  }

  it('refuses a change of the immutable namespace', async () => {
    const kc = await ensureCluster();
    const meshes = new MeshClient(kc);
    const mesh = testMesh('immutable');
    await meshes.create(mesh);
    try {
      const res = kubectl([
        'patch',
        'mesh',
        mesh.metadata.name,
        '--type=merge',
        '--dry-run=server',
        '-p',
        '{"spec":{"namespace":"elsewhere"}}',
      ]);
      assert.notEqual(res.status, 0);
      assert.match(res.stderr, /spec\.namespace is immutable/);
    } finally {
      await meshes.deleteAndWait(mesh.metadata.name).catch(() => undefined);
    }
  });
});
