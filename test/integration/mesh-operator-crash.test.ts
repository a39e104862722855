import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { kubectl } from '../cluster/local-cluster.js';
import { ensureCluster, listLabelled, MESH_CHILD_KINDS } from '../helpers/cluster.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds, startOperator } from '../helpers/operator.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Crash safety: the operator is SIGKILLed mid-reconcile ten times in a row, each time after a spec
 * change gave it work to do. A fresh operator must then converge with no duplicate and no orphan.
 */

/** The CA Secret's uid and root, or undefined before the operator has created it. */
async function caSecretIdentity(kc: KubeConfig, namespace: string): Promise<string | undefined> {
  const secret = await kc
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ name: 'weft-ca-secret', namespace })
    .catch(() => undefined);
  return secret ? `${secret.metadata?.uid} ${secret.data?.['root-cert.pem']}` : undefined;
}

/** Every object the operator manages, in any namespace. */
const managedObjects = (kc: KubeConfig): Promise<KubernetesObject[]> =>
  listLabelled(
    kc,
    MESH_CHILD_KINDS.filter((k) => k.kind !== 'Namespace'),
    'app.kubernetes.io/managed-by=weft-operator',
  );

describe('Mesh operator crash safety', () => {
  let kc: KubeConfig;
  before(async () => {
    kc = await ensureCluster();
    await installCrds();
    await removeLeftoverMeshes(kc);
  });

  it('converges after being killed mid-reconcile 10 times, with no duplicates and no orphans', async () => {
    const meshes = new MeshClient(kc);
    const mesh = testMesh('crash');
    const ns = mesh.spec.namespace!;
    const stored = await meshes.create(mesh);
    // The CA Secret as first seen after a kill: a regenerated root would change its uid or its data.
    let firstCa: string | undefined;
    try {
      for (let round = 1; round <= 10; round++) {
        // Each round changes the spec, so the operator that wakes up has real work in flight when killed.
        const gateways = [
          {
            name: 'ingress',
            replicas: round % 3,
            service: { type: 'ClusterIP', ports: [{ name: 'http2', port: 80 }] },
          },
        ];
        if (round % 2 === 0)
          gateways.push({
            name: `extra-${round}`,
            replicas: 1,
            service: { type: 'ClusterIP', ports: [{ name: 'http2', port: 80 }] },
          });
        const patched = kubectl([
          'patch',
          'mesh',
          mesh.metadata.name,
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { gateways } }),
        ]);
        assert.equal(patched.status, 0, patched.stderr);

        const operator = await startOperator();
        await waitUntil(`round ${round}: the operator to start its controllers`, () => ({
          done: operator.logs().includes('"controllers started"'),
          state: operator.logs().slice(-1_500),
        }));
        // Kill somewhere inside the reconcile: it applies ~15 objects one after another.
        await new Promise((resolve) => setTimeout(resolve, (round * 37) % 300));
        await operator.stop('SIGKILL');
        firstCa ??= await caSecretIdentity(kc, ns);
      }

      const operator = await startOperator();
      try {
        const ready = await meshes.waitReady(mesh.metadata.name, 60_000);
        assert.equal(ready.status?.observedGeneration, ready.metadata?.generation);

        const objects = await managedObjects(kc);
        const names = objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
        assert.equal(new Set(names).size, names.length, `duplicates: ${names.join(', ')}`);
        const orphans = objects.filter((o) => o.metadata?.ownerReferences?.[0]?.uid !== stored.metadata?.uid);
        assert.deepEqual(
          orphans.map((o) => `${o.kind}/${o.metadata?.name}`),
          [],
          'every child is owned by the Mesh',
        );

        // The final spec (round 10) has gateways ingress and extra-10: the other extras were pruned.
        const deployments = await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: ns });
        assert.deepEqual(deployments.items.map((d) => d.metadata?.name).sort(), [
          'extra-10',
          'ingress',
          'weft-control-plane',
        ]);
        // One CA, generated once and kept: its root is what status reports.
        const secrets = await kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns });
        assert.deepEqual(
          secrets.items.map((s) => s.metadata?.name),
          ['weft-ca-secret'],
        );
        const finalCa = await caSecretIdentity(kc, ns);
        if (firstCa !== undefined)
          assert.equal(finalCa, firstCa, 'the CA Secret was never replaced or rewritten');
        const root = new X509Certificate(
          Buffer.from(secrets.items[0]!.data!['root-cert.pem']!, 'base64').toString(),
        );
        assert.equal(ready.status?.certificateAuthority?.rootFingerprintSHA256, root.fingerprint256);
        // Events are best effort: an operator killed between creating the Secret and recording the
        // Event loses the Event, so there may be none, but never two.
        const events = kubectl([
          'get',
          'events',
          '-n',
          'default',
          '--field-selector',
          `involvedObject.name=${mesh.metadata.name},reason=CertificateAuthorityCreated`,
          '-o',
          'name',
        ]);
        assert.ok(
          events.stdout.trim().split('\n').filter(Boolean).length <= 1,
          `the root CA was generated at most once: ${events.stdout}`,
        );
      } finally {
        await meshes.deleteAndWait(mesh.metadata.name, 60_000);
        assert.equal(await operator.stop('SIGTERM'), 0);
      }
    } finally {
      await meshes.deleteAndWait(mesh.metadata.name).catch(() => undefined);
    }
  });
});
