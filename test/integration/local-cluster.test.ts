import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { apiserverUrl } from '../cluster/components.js';
import { probe } from '../cluster/health.js';
import { FAKE_NODES } from '../cluster/local-cluster.js';
import { paths } from '../cluster/paths.js';
import { createTestNamespace, ensureCluster, type TestNamespace } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

const isReady = (pod: V1Pod): boolean =>
  pod.status?.phase === 'Running' &&
  !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

describe('local cluster', () => {
  let kc: KubeConfig;
  let ns: TestNamespace;

  before(async () => {
    kc = await ensureCluster();
    ns = await createTestNamespace(kc, 'cluster');
  });
  after(async () => ns?.cleanup());

  it('serves /readyz over TLS verified by the cluster CA', async () => {
    const ca = readFileSync(join(paths.pkiDir, 'ca.crt'), 'utf8');
    const readyz = await probe(`${apiserverUrl}/readyz`, ca);
    assert.equal(readyz.ok, true, readyz.detail);
    assert.match(readyz.detail, /^200 ok/);
  });

  it('runs a Deployment of 2 replicas as Ready pods on kwok nodes, and garbage-collects them', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const labels = { app: 'echo' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'echo', labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'echo', image: 'weft/echo:test' }] },
          },
        },
      },
    });

    const pods = (await waitUntil(
      '2 Ready pods of Deployment echo',
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=echo' });
        const ready = list.items.filter(isReady);
        return {
          done: ready.length === 2,
          state: list.items.map((p) => ({
            name: p.metadata?.name,
            phase: p.status?.phase,
            node: p.spec?.nodeName,
          })),
        };
      },
      { timeoutMs: 30_000 },
    )) as { node?: string }[];
    for (const pod of pods)
      assert.ok(FAKE_NODES.includes(pod.node as (typeof FAKE_NODES)[number]), `scheduled on ${pod.node}`);

    const deployment = await apps.readNamespacedDeployment({ name: 'echo', namespace: ns.name });
    await waitUntil('Deployment echo to report 2 available replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'echo', namespace: ns.name });
      return { done: d.status?.availableReplicas === 2, state: d.status };
    });
    assert.equal(deployment.spec?.replicas, 2);

    await apps.deleteNamespacedDeployment({
      name: 'echo',
      namespace: ns.name,
      propagationPolicy: 'Background',
    });
    await waitUntil(
      'the garbage collector to delete the pods of Deployment echo',
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=echo' });
        return { done: list.items.length === 0, state: list.items.map((p) => p.metadata?.name) };
      },
      { timeoutMs: 30_000 },
    );
  });

  it('publishes EndpointSlices for a Service selecting Ready pods', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'web', image: 'weft/web:test', ports: [{ containerPort: 8080 }] }] },
          },
        },
      },
    });
    await core.createNamespacedService({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    await waitUntil('an EndpointSlice of Service web with one ready endpoint', async () => {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace: ns.name,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      return { done: ready.length === 1, state: slices.items };
    });
  });
});
