import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { summariseOutcomes } from '../kube/apply.js';
import { deploymentReadiness, meshReadiness } from '../kube/readiness.js';
import { formatDuration } from '../kube/wait.js';
import { uninstallRefusal, type Inventory } from './inventory.js';
import { installObjects } from './objects.js';

const object = (kind: string, name: string, namespace?: string): KubernetesObject => ({
  apiVersion: 'x/v1',
  kind,
  metadata: { name, namespace },
});

describe('weftctl install and uninstall', () => {
  it('installs the objects manifest generate prints: the CRDs, then the operator in its namespace', () => {
    const objects = installObjects({ version: '0.1.0', namespace: 'ops' });
    assert.equal(objects.crds.length, 9);
    assert.ok(objects.crds.every((c) => c.kind === 'CustomResourceDefinition'));
    assert.deepEqual(
      objects.operator.map((o) => o.kind),
      ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment'],
    );
    assert.deepEqual(objects.deployment, { namespace: 'ops', name: 'weft-operator' });
  });

  it('refuses to uninstall Meshes and Weft resources without --yes, and names them', () => {
    const inventory: Inventory = {
      crds: [object('CustomResourceDefinition', 'meshes.mesh.weft.dev')],
      operator: [],
      meshes: [object('Mesh', 'default')],
      resources: [object('VirtualService', 'reviews', 'shop')],
      foreignCrds: [],
    };
    const refusal = uninstallRefusal(inventory, false)!;
    assert.match(
      refusal,
      /deletes its Meshes and, with the CRDs, every Weft resource: Mesh default, VirtualService shop\/reviews\./,
    );
    assert.match(refusal, /Rerun with --yes to delete them, or with --keep-crds --yes to keep/);
    assert.match(uninstallRefusal(inventory, true)!, /: Mesh default\.\nRerun with --yes to delete them\.$/);
    assert.equal(
      uninstallRefusal({ ...inventory, meshes: [] }, true),
      undefined,
      'resources kept with --keep-crds',
    );
    assert.equal(uninstallRefusal({ ...inventory, meshes: [], resources: [] }, false), undefined);
  });

  it('lists five objects and counts the rest', () => {
    const many = Array.from({ length: 7 }, (_, i) => object('VirtualService', `vs${i}`, 'shop'));
    const refusal = uninstallRefusal(
      { crds: [], operator: [], meshes: [], resources: many, foreignCrds: [] },
      false,
    )!;
    assert.match(refusal, /VirtualService shop\/vs4 and 2 more\./);
  });

  it('judges a Deployment Available as kubectl rollout status does', () => {
    const deployment = (status: V1Deployment['status'], generation = 1): V1Deployment => ({
      metadata: { generation },
      spec: { replicas: 1, selector: {}, template: {} },
      status,
    });
    const available = {
      observedGeneration: 1,
      readyReplicas: 1,
      updatedReplicas: 1,
      conditions: [{ type: 'Available', status: 'True' }],
    };
    assert.deepEqual(deploymentReadiness(deployment(available)), { available: true, ready: 1, replicas: 1 });
    assert.equal(deploymentReadiness(deployment(available, 2)).available, false, 'a newer spec not yet seen');
    assert.equal(deploymentReadiness(deployment({ ...available, readyReplicas: 0 })).available, false);
    assert.deepEqual(deploymentReadiness(deployment(undefined)), { available: false, ready: 0, replicas: 1 });
  });

  it('waits for a Mesh that is Ready for its latest generation, not an older one', () => {
    const mesh = (m: Omit<Mesh, 'spec'>): Mesh => ({ ...m, spec: {} });
    const ready = {
      type: 'Ready',
      status: 'True' as const,
      reason: 'Healthy',
      message: '',
      lastTransitionTime: '',
    };
    assert.deepEqual(
      meshReadiness(
        mesh({ metadata: { generation: 1 }, status: { observedGeneration: 1, conditions: [ready] } }),
      ),
      {
        ready: true,
        summary: 'Ready=True',
      },
    );
    assert.equal(
      meshReadiness(
        mesh({ metadata: { generation: 2 }, status: { observedGeneration: 1, conditions: [ready] } }),
      ).ready,
      false,
    );
    assert.match(meshReadiness(mesh({ metadata: { generation: 1 } })).summary, /no Ready condition yet/);
  });

  it('says what an apply changed, and how long it waited', () => {
    assert.equal(summariseOutcomes(['unchanged', 'created', 'unchanged']), '1 created, 2 unchanged');
    assert.equal(formatDuration(300_000), '5m');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(1_500), '1.5s');
  });
});
