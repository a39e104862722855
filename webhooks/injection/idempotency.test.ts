import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import fastJsonPatch from 'fast-json-patch';
import fc from 'fast-check';
import { injectPod } from './inject.js';
import { injectionSettings, type InjectionSettings } from './settings.js';

/** Annotation values injection reads, valid and not, so refusals are exercised too. */
const annotationValues: Record<string, string[]> = {
  'sidecar.weft.dev/nativeSidecar': ['true', 'false', 'maybe'],
  'sidecar.weft.dev/proxyCPU': ['50m', '2', 'lots'],
  'sidecar.weft.dev/proxyMemoryLimit': ['1Gi', '64Mi'],
  'sidecar.weft.dev/rewriteAppHTTPProbers': ['true', 'false'],
  'traffic.sidecar.weft.dev/includeInboundPorts': ['*', '', '8080,9090', 'http'],
  'traffic.sidecar.weft.dev/excludeOutboundIPRanges': ['10.0.0.0/8', '10.0.0.1'],
  'traffic.sidecar.weft.dev/excludeOutboundPorts': ['5432', '0'],
  'prometheus.io/scrape': ['true', 'false'],
  'sidecar.weft.dev/status': ['{}'],
};

/** True one time in ten: the cases that skip injection are there, without crowding out the rest. */
const rarely = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);

/** Each annotation one time in four, with one of its values; the status annotation only rarely. */
const annotations = fc
  .tuple(
    ...Object.entries(annotationValues).map(([key, values]) =>
      fc.oneof(
        { arbitrary: fc.constant(undefined), weight: key === 'sidecar.weft.dev/status' ? 19 : 3 },
        { arbitrary: fc.constantFrom(...values).map((v) => [key, v] as const), weight: 1 },
      ),
    ),
  )
  .map((entries) => Object.fromEntries(entries.filter((e) => e !== undefined)));

const probe: fc.Arbitrary<V1Probe | undefined> = fc.option(
  fc.oneof(
    fc.record({
      httpGet: fc.record({
        path: fc.constantFrom('/ready', '/healthz'),
        port: fc.constantFrom(8080, 'http', 'gone'),
      }),
    }),
    fc.record({ tcpSocket: fc.record({ port: fc.constant(8080) }) }),
  ),
  { nil: undefined },
);

const container = (name: string): fc.Arbitrary<V1Container> =>
  fc.record({ livenessProbe: probe, readinessProbe: probe }).map(({ livenessProbe, readinessProbe }) => ({
    name,
    image: `shop/${name}`,
    ports: [{ name: 'http', containerPort: 8080 }],
    ...(livenessProbe ? { livenessProbe } : {}),
    ...(readinessProbe ? { readinessProbe } : {}),
  }));

/** Pods as the API server may send them: any mix of containers, init containers, labels and annotations. */
const pods: fc.Arbitrary<V1Pod> = fc
  .uniqueArray(fc.constantFrom('web', 'worker', 'migrate', 'seed', 'cache'), { minLength: 1, maxLength: 3 })
  .chain((names) =>
    fc.record({
      app: fc.tuple(...names.map(container)),
      initCount: fc.nat({ max: names.length - 1 }),
      annotations,
      optOut: rarely,
      hostNetwork: rarely,
      withVolume: fc.boolean(),
      clash: rarely,
    }),
  )
  .map(({ app, initCount, annotations, optOut, hostNetwork, withVolume, clash }) => {
    // A clash: a container already named as the proxy, as a pod injected by hand would have.
    const containers = clash ? [...app.slice(0, -1), { ...app[app.length - 1]!, name: 'weft-proxy' }] : app;
    return {
      metadata: {
        generateName: 'web-',
        labels: { app: 'web', ...(optOut ? { 'sidecar.weft.dev/inject': 'false' } : {}) },
        annotations,
      },
      spec: {
        ...(initCount > 0 ? { initContainers: containers.slice(containers.length - initCount) } : {}),
        containers: containers.slice(0, containers.length - initCount),
        ...(hostNetwork ? { hostNetwork } : {}),
        ...(withVolume ? { volumes: [{ name: 'data', emptyDir: {} }] } : {}),
      },
    };
  })
  // As the API server sends them: JSON (fast-check's records have no prototype; JSON's objects do).
  .map((pod) => JSON.parse(JSON.stringify(pod)) as V1Pod);

const settings: fc.Arbitrary<InjectionSettings> = fc
  .record({
    nativeSidecar: fc.boolean(),
    holdApplicationUntilProxyStarts: fc.boolean(),
    metrics: fc.boolean(),
  })
  .map(({ metrics, ...proxy }) =>
    injectionSettings({
      apiVersion: 'mesh.weft.dev/v1alpha1',
      kind: 'Mesh',
      metadata: { name: 'mesh' },
      spec: { proxy, telemetry: { metrics: { enabled: metrics } } },
    }),
  );

const namespaces = fc.oneof(
  { arbitrary: fc.constant('shop'), weight: 8 },
  { arbitrary: fc.constantFrom('kube-system', 'weft-system'), weight: 1 },
);

describe('injection is idempotent', () => {
  it('for any pod: a second pass changes nothing, the patch gives the injected pod, the input is untouched', () => {
    fc.assert(
      fc.property(pods, namespaces, settings, (pod, namespace, s) => {
        const before = structuredClone(pod);
        const first = injectPod(pod, namespace, s);
        assert.deepEqual(pod, before, 'the input pod is not modified');
        if (first.kind !== 'injected') return;
        const patched = fastJsonPatch.applyPatch(structuredClone(pod), first.patch, true, false).newDocument;
        assert.deepEqual(patched, first.pod);
        const second = injectPod(first.pod, namespace, s);
        assert.equal(second.kind, 'skipped', JSON.stringify(second));
        const names = [...(first.pod.spec?.initContainers ?? []), ...(first.pod.spec?.containers ?? [])].map(
          (c) => c.name,
        );
        assert.equal(new Set(names).size, names.length, `container names are unique: ${names.join(', ')}`);
      }),
      { numRuns: 500 },
    );
  });

  it('for any pod: a refusal names the pod and one of its own annotations', () => {
    fc.assert(
      fc.property(pods, namespaces, settings, (pod, namespace, s) => {
        const outcome = injectPod(pod, namespace, s);
        if (outcome.kind !== 'refused') return;
        assert.match(outcome.message, new RegExp(`^Pod ${namespace}/web- `));
        const named = Object.keys(pod.metadata?.annotations ?? {}).some((k) =>
          outcome.message.includes(`annotation ${k}: `),
        );
        assert.ok(named, outcome.message);
      }),
      { numRuns: 500 },
    );
  });
});
