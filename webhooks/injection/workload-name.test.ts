import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { workloadName } from './workload-name.js';

const owned = (kind: string, name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: {
    generateName: `${name}-`,
    labels,
    ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid: 'u', controller: true }],
  },
});

describe('workloadName', () => {
  it("names a Deployment's pod after the Deployment", () => {
    assert.equal(
      workloadName(owned('ReplicaSet', 'reviews-v1-7d9f8c6b5', { 'pod-template-hash': '7d9f8c6b5' })),
      'reviews-v1',
    );
  });

  it('keeps the ReplicaSet name when it does not end in the pod template hash', () => {
    assert.equal(workloadName(owned('ReplicaSet', 'handmade')), 'handmade');
  });

  it('names StatefulSet, DaemonSet and Job pods after their controller', () => {
    assert.equal(workloadName(owned('StatefulSet', 'db')), 'db');
    assert.equal(workloadName(owned('DaemonSet', 'agent')), 'agent');
    assert.equal(workloadName(owned('Job', 'migrate')), 'migrate');
  });

  it('names a bare pod after itself, or its generateName', () => {
    assert.equal(workloadName({ metadata: { name: 'debug' } }), 'debug');
    assert.equal(workloadName({ metadata: { generateName: 'scratch-' } }), 'scratch');
  });
});
