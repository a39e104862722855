import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { kubectl } from '../cluster/local-cluster.js';
import { repoRoot, weftDir } from '../cluster/paths.js';
import { runHealthCheck } from '../helpers/argocd-health.js';
import { ensureCluster } from '../helpers/cluster.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds, startOperator, type RunningOperator } from '../helpers/operator.js';

/**
 * What Argo CD does to a Mesh kept in Git (docs/gitops/argocd/README.md): server-side apply with its
 * field manager, then diff on every refresh. With the operator running and the Mesh Ready, a second
 * sync must find nothing to change, because the operator writes only status and its finalizer.
 */

/** Argo CD's field manager for server-side apply (ServerSideApply=true). */
const ARGOCD_MANAGER = 'argocd-controller';

describe('a Mesh synced by Argo CD', () => {
  let kc: KubeConfig;
  let operator: RunningOperator | undefined;
  let meshes: MeshClient;
  const mesh = testMesh('gitops');
  const file = join(weftDir, `${mesh.metadata.name}.yaml`);

  const kubectlApply = (): ReturnType<typeof kubectl> =>
    kubectl(['apply', '--server-side', `--field-manager=${ARGOCD_MANAGER}`, '-f', file]);
  const kubectlDiff = (): ReturnType<typeof kubectl> =>
    kubectl(['diff', '--server-side', `--field-manager=${ARGOCD_MANAGER}`, '-f', file]);

  before(async () => {
    kc = await ensureCluster();
    await installCrds();
    await removeLeftoverMeshes(kc);
    meshes = new MeshClient(kc);
    operator = await startOperator(['--control-plane-url=https://127.0.0.1:15017', '--leader-elect=false']);
    // As it sits in Git: after the CRDs and the operator (wave 0), with nothing the operator fills in.
    const inGit = {
      ...mesh,
      metadata: { ...mesh.metadata, annotations: { 'argocd.argoproj.io/sync-wave': '1' } },
    };
    writeFileSync(file, stringify(inGit));
  });

  after(async () => {
    await meshes?.deleteAndWait(mesh.metadata.name);
    await operator?.stop();
    rmSync(file, { force: true });
  });

  it('syncs, and the operator brings the Mesh to Ready', async () => {
    const applied = kubectlApply();
    assert.equal(applied.status, 0, applied.stderr);
    await meshes.waitReady(mesh.metadata.name, 60_000);
  });

  it('finds no difference on the next refresh, and a second sync changes nothing', async () => {
    const before = (await meshes.get(mesh.metadata.name))!;
    const diff = kubectlDiff();
    assert.equal(
      diff.status,
      0,
      `kubectl diff --server-side found a difference:\n${diff.stdout}${diff.stderr}`,
    );
    assert.equal(diff.stdout, '');

    const again = kubectlApply();
    assert.equal(again.status, 0, again.stderr);
    const after = (await meshes.get(mesh.metadata.name))!;
    assert.equal(after.metadata?.generation, before.metadata?.generation, 'the spec did not change');
    assert.equal(kubectlDiff().status, 0);
  });

  it('leaves spec to Git: the operator owns only status and its finalizer', async () => {
    type ManagedFields = { manager: string; subresource?: string; fieldsV1: Record<string, unknown> }[];
    const live = await meshes.get(mesh.metadata.name);
    const managed = live?.metadata?.managedFields as unknown as ManagedFields;
    const operatorFields = managed.filter((m) => m.manager === 'weft-operator');
    assert.ok(operatorFields.length > 0);
    for (const entry of operatorFields) {
      assert.equal(entry.fieldsV1['f:spec'], undefined, JSON.stringify(entry));
      if (entry.subresource === 'status') continue;
      assert.deepEqual(Object.keys(entry.fieldsV1), ['f:metadata'], JSON.stringify(entry));
      assert.deepEqual(
        Object.keys(entry.fieldsV1['f:metadata'] as object),
        ['f:finalizers'],
        JSON.stringify(entry),
      );
    }
    const argocd = managed.find((m) => m.manager === ARGOCD_MANAGER);
    assert.ok(argocd?.fieldsV1['f:spec'], 'Argo CD owns the spec it applied');
  });

  it('is Healthy by the Argo CD health check', async () => {
    const live = await meshes.get(mesh.metadata.name);
    const script = join(repoRoot, 'docs', 'gitops', 'argocd', 'mesh.weft.dev', 'Mesh', 'health.lua');
    assert.deepEqual(runHealthCheck(script, live), { status: 'Healthy', message: 'the mesh is ready' });
  });
});
