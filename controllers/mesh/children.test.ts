import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject, V1ManagedFieldsEntry, V1OwnerReference } from '@kubernetes/client-node';
import {
  caBundleOwnedByOther,
  childrenToPrune,
  isIgnored,
  objectRef,
  ownerReferenceTo,
  withOwner,
} from './children.js';

function obj(kind: string, name: string, namespace?: string, apiVersion = 'v1'): KubernetesObject {
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
}

function webhookWithManagers(...entries: V1ManagedFieldsEntry[]): KubernetesObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'weft-sidecar-injector', managedFields: entries },
  };
}

const caBundleFields = {
  'f:webhooks': {
    'k:{"name":"sidecar-injector.weft.dev"}': {
      '.': {},
      'f:clientConfig': { 'f:caBundle': {} },
      'f:name': {},
    },
  },
};

const otherFields = {
  'f:webhooks': {
    'k:{"name":"sidecar-injector.weft.dev"}': { '.': {}, 'f:name': {}, 'f:timeoutSeconds': {} },
  },
};

describe('isIgnored', () => {
  it('is true for the weft.dev/ignore: "true" label or annotation', () => {
    assert.equal(isIgnored({ metadata: { labels: { 'weft.dev/ignore': 'true' } } }), true);
    assert.equal(isIgnored({ metadata: { annotations: { 'weft.dev/ignore': 'true' } } }), true);
  });

  it('is false without it, with another value, or without an object', () => {
    assert.equal(isIgnored(obj('ConfigMap', 'a', 'ns')), false);
    assert.equal(isIgnored({ metadata: { labels: { 'weft.dev/ignore': 'false' } } }), false);
    assert.equal(isIgnored({ metadata: { annotations: { 'weft.dev/ignore': 'yes' } } }), false);
    assert.equal(isIgnored({ metadata: { labels: { 'weft.dev/other': 'true' } } }), false);
    assert.equal(isIgnored(undefined), false);
  });
});

describe('caBundleOwnedByOther', () => {
  it('is true when a manager other than weft-operator owns f:caBundle', () => {
    const live = webhookWithManagers(
      { manager: 'weft-operator', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: otherFields },
      { manager: 'weft-control-plane', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: caBundleFields },
    );
    assert.equal(caBundleOwnedByOther(live), true);
  });

  it('is false when only weft-operator owns the caBundle', () => {
    const live = webhookWithManagers({
      manager: 'weft-operator',
      operation: 'Apply',
      fieldsType: 'FieldsV1',
      fieldsV1: caBundleFields,
    });
    assert.equal(caBundleOwnedByOther(live), false);
  });

  it('is false when other managers own fields other than the caBundle', () => {
    const live = webhookWithManagers(
      { manager: 'weft-operator', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: caBundleFields },
      { manager: 'kubectl-edit', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: otherFields },
    );
    assert.equal(caBundleOwnedByOther(live), false);
  });

  it('is false for a missing object or one without managedFields', () => {
    assert.equal(caBundleOwnedByOther(undefined), false);
    assert.equal(caBundleOwnedByOther(obj('MutatingWebhookConfiguration', 'x')), false);
  });
});

describe('childrenToPrune', () => {
  it('keeps desired children and prunes the others', () => {
    const cm = obj('ConfigMap', 'weft-ca-root-cert', 'team-a');
    const oldCm = obj('ConfigMap', 'weft-ca-root-cert', 'team-b');
    const gw = obj('Deployment', 'ingress', 'weft-system', 'apps/v1');
    const oldGw = obj('Deployment', 'egress', 'weft-system', 'apps/v1');
    const prune = childrenToPrune([cm, oldCm, gw, oldGw], [cm, gw]);
    assert.deepEqual(prune.map(objectRef), [objectRef(oldCm), objectRef(oldGw)]);
  });

  it('tells objects apart by kind, namespace and name', () => {
    const desired = [obj('Service', 'ingress', 'weft-system')];
    const live = [
      obj('Service', 'ingress', 'weft-system'),
      obj('ServiceAccount', 'ingress', 'weft-system'),
      obj('Service', 'ingress', 'other'),
    ];
    assert.deepEqual(childrenToPrune(live, desired).map(objectRef), [
      objectRef(obj('ServiceAccount', 'ingress', 'weft-system')),
      objectRef(obj('Service', 'ingress', 'other')),
    ]);
  });

  it('never prunes an ignored child', () => {
    const ignoredByLabel: KubernetesObject = {
      ...obj('ConfigMap', 'a', 'ns'),
      metadata: { name: 'a', namespace: 'ns', labels: { 'weft.dev/ignore': 'true' } },
    };
    const ignoredByAnnotation: KubernetesObject = {
      ...obj('ConfigMap', 'b', 'ns'),
      metadata: { name: 'b', namespace: 'ns', annotations: { 'weft.dev/ignore': 'true' } },
    };
    const stale = obj('ConfigMap', 'c', 'ns');
    assert.deepEqual(childrenToPrune([ignoredByLabel, ignoredByAnnotation, stale], []), [stale]);
  });

  it('prunes nothing when everything live is desired', () => {
    const live = [obj('Namespace', 'weft-system'), obj('Service', 'x', 'weft-system')];
    assert.deepEqual(childrenToPrune(live, live), []);
  });
});

describe('withOwner', () => {
  const mesh: KubernetesObject = {
    apiVersion: 'mesh.weft.dev/v1',
    kind: 'Mesh',
    metadata: { name: 'default', uid: '1234-abcd' },
  };

  it('makes the Mesh the controlling owner, keeping the rest of metadata', () => {
    const owner = ownerReferenceTo(mesh);
    assert.deepEqual(owner, {
      apiVersion: 'mesh.weft.dev/v1',
      kind: 'Mesh',
      name: 'default',
      uid: '1234-abcd',
      controller: true,
      blockOwnerDeletion: true,
    });
    const child: KubernetesObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x', namespace: 'weft-system', labels: { a: 'b' } },
    };
    const owned = withOwner(child, owner);
    assert.deepEqual(owned.metadata?.ownerReferences, [owner]);
    assert.equal(owned.metadata?.name, 'x');
    assert.equal(owned.metadata?.namespace, 'weft-system');
    assert.deepEqual(owned.metadata?.labels, { a: 'b' });
    assert.equal(owned.kind, 'Service');
  });

  it('does not modify its input', () => {
    const child: KubernetesObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } };
    const owner: V1OwnerReference = ownerReferenceTo(mesh);
    withOwner(child, owner);
    assert.equal(child.metadata?.ownerReferences, undefined);
  });
});
