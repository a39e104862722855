import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { createTestNamespace, ensureCluster, type TestNamespace } from '../helpers/cluster.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The operator's foundation: with the client the whole codebase uses (@kubernetes/client-node 1.x),
 * create a CRD and a custom resource, watch it from a resourceVersion, and write its status subresource.
 */

const group = 'foundation.test.weft.dev';
const plural = 'widgets';
const crd: V1CustomResourceDefinition = {
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } },
              status: {
                type: 'object',
                properties: { phase: { type: 'string' }, observedGeneration: { type: 'integer' } },
              },
            },
          },
        },
      },
    ],
  },
};

interface Widget {
  metadata: { name: string; resourceVersion: string; generation: number };
  spec?: { size?: number };
  status?: { phase?: string; observedGeneration?: number };
}

describe('custom resources with @kubernetes/client-node', () => {
  let kc: KubeConfig;
  let ns: TestNamespace;

  before(async () => {
    kc = await ensureCluster();
    ns = await createTestNamespace(kc, 'crd');
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: crd }).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
    await waitUntil(`CRD ${crd.metadata?.name} to be Established`, async () => {
      const got = await ext.readCustomResourceDefinition({ name: `${plural}.${group}` });
      const established = got.status?.conditions?.find((c) => c.type === 'Established');
      return { done: established?.status === 'True', state: got.status?.conditions };
    });
  });
  after(async () => ns?.cleanup());

  it('creates, watches and patches the status of a custom resource', async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const created = (await api.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns.name,
      plural,
      body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
    })) as Widget;

    const seen: { phase: string; obj: Widget }[] = [];
    const watch = new Watch(kc);
    const controller = await watch.watch(
      `/apis/${group}/v1/namespaces/${ns.name}/${plural}`,
      { resourceVersion: created.metadata.resourceVersion, allowWatchBookmarks: true },
      (phase, obj: Widget) => seen.push({ phase, obj }),
      () => undefined,
    );
    try {
      await api.patchNamespacedCustomObjectStatus(
        {
          group,
          version: 'v1',
          namespace: ns.name,
          plural,
          name: 'w1',
          body: { status: { phase: 'Ready', observedGeneration: created.metadata.generation } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await waitUntil('a MODIFIED watch event carrying the new status', () => ({
        done: seen.some((e) => e.phase === 'MODIFIED' && e.obj.status?.phase === 'Ready'),
        state: seen.map((e) => ({ phase: e.phase, status: e.obj.status })),
      }));
    } finally {
      controller.abort();
    }

    const got = (await api.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns.name,
      plural,
      name: 'w1',
    })) as Widget;
    assert.equal(got.status?.phase, 'Ready');
    assert.equal(got.status?.observedGeneration, 1);
    // Writing status through /status must not touch spec or bump the generation.
    assert.equal(got.metadata.generation, 1);
    assert.equal(got.spec?.size, 3);
  });

  it('refuses a resource that breaks the schema, naming the field', async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    await assert.rejects(
      api.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: ns.name,
        plural,
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } },
      }),
      (err: { code?: number; body?: string }) => err.code === 422 && /spec\.size/.test(String(err.body)),
    );
  });
});
