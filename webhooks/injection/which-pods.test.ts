import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { skipReason } from './which-pods.js';

const MESH_NAMESPACE = 'weft-system';

const pod = (
  overrides: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Pod => ({
  metadata: { generateName: 'web-', labels: overrides.labels, annotations: overrides.annotations },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
});

describe('which pods are injected', () => {
  const cases: [string, V1Pod, string, RegExp | undefined][] = [
    ['an ordinary pod in an application namespace', pod(), 'shop', undefined],
    [
      'a pod labelled for injection "true" (only "false" opts out)',
      pod({ labels: { 'sidecar.weft.dev/inject': 'true' } }),
      'shop',
      undefined,
    ],
    [
      'a pod labelled sidecar.weft.dev/inject: "false"',
      pod({ labels: { 'sidecar.weft.dev/inject': 'false' } }),
      'shop',
      /labelled sidecar.weft.dev\/inject: "false"/,
    ],
    ['a pod in kube-system', pod(), 'kube-system', /kube-system is never injected/],
    ['a pod in the mesh namespace', pod(), MESH_NAMESPACE, /mesh's own/],
    [
      'a host-network pod',
      { ...pod(), spec: { hostNetwork: true, containers: [{ name: 'agent' }] } },
      'shop',
      /host network/,
    ],
    [
      'a pod already injected',
      pod({ annotations: { 'sidecar.weft.dev/status': '{}' } }),
      'shop',
      /already injected/,
    ],
    [
      'a pod that already has a weft-proxy container',
      { ...pod(), spec: { containers: [{ name: 'web' }, { name: 'weft-proxy' }] } },
      'shop',
      /container named weft-proxy/,
    ],
    [
      'a pod that already has a weft-init init container',
      { ...pod(), spec: { initContainers: [{ name: 'weft-init' }], containers: [{ name: 'web' }] } },
      'shop',
      /container named weft-init/,
    ],
  ];
  for (const [name, p, namespace, skipped] of cases) {
    it(`${skipped ? 'skips' : 'injects'} ${name}`, () => {
      const reason = skipReason(p, namespace, MESH_NAMESPACE);
      if (skipped) assert.match(reason ?? '(injected)', skipped);
      else assert.equal(reason, undefined);
    });
  }
});
