import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { createTestNamespace, type TestNamespace } from '../helpers/cluster.js';
import { startMeshPlatform, type MeshPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Sidecar injection on the real local cluster: the operator configures the injection webhook to
 * call the control plane out of cluster (https://127.0.0.1:15017/inject); the real API server sends
 * it the pods the real controller-manager creates for a Deployment; kwok runs them.
 */

const WEBHOOK = 'https://127.0.0.1:15017';

const names = (containers: readonly V1Container[] | undefined): string[] =>
  (containers ?? []).map((c) => c.name);

const INJECTED_ANNOTATION = 'sidecar.weft.dev/status';

/** A bare pod with one application container; the API server fills in the rest. */
const bare = (
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: name, ...labels }, annotations },
  spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
});

describe('sidecar injection on the real cluster', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let platform: MeshPlatform | undefined;
  let injected: TestNamespace;
  let plain: TestNamespace;
  let revision: TestNamespace;
  let rootPem: string;

  /** The pods of a namespace with the given `app` label. */
  const podsOf = async (namespace: string, app: string): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;

  before(async () => {
    platform = await startMeshPlatform(
      'inject',
      ['--monitoring-address=127.0.0.1:26014', '--webhook-address=127.0.0.1:15017', '--push-address=off'],
      'serving admission webhooks',
    );
    ({ kc, rootPem } = platform);
    core = kc.makeApiClient(CoreV1Api);
    injected = await createTestNamespace(kc, 'inject', { 'weft.dev/inject': 'enabled' });
    plain = await createTestNamespace(kc, 'plain');
    revision = await createTestNamespace(kc, 'rev', { 'weft.dev/rev': 'default' });
  });

  after(async () => {
    for (const ns of [injected, plain, revision]) await ns?.cleanup();
    await platform?.stop();
  });

  it("gives a Deployment's pods in a labelled namespace the proxy and the capture init step", async () => {
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: injected.name,
      body: {
        metadata: { name: 'reviews' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'reviews' } },
          template: {
            metadata: { labels: { app: 'reviews', version: 'v1' } },
            spec: {
              containers: [
                {
                  name: 'reviews',
                  image: 'example.com/reviews:1',
                  ports: [{ name: 'http', containerPort: 9080 }],
                  readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
                },
              ],
            },
          },
        },
      },
    });
    await waitUntil('the Deployment to have two running pods', async () => {
      const list = await podsOf(injected.name, 'reviews');
      return {
        done: list.length === 2 && list.every((p) => p.status?.phase === 'Running'),
        state: list.map((p) => ({ name: p.metadata?.name, phase: p.status?.phase })),
      };
    });
    for (const pod of await podsOf(injected.name, 'reviews')) {
      const label = pod.metadata?.name;
      assert.deepEqual(names(pod.spec?.initContainers), ['weft-init', 'weft-proxy'], label);
      assert.deepEqual(names(pod.spec?.containers), ['reviews'], label);
      const proxy = pod.spec!.initContainers![1]!;
      assert.equal(proxy.restartPolicy, 'Always', 'a native sidecar');
      assert.ok(proxy.args?.includes('--workload=reviews'), proxy.args?.join(' '));
      assert.ok(proxy.args?.includes('--label=version=v1'), proxy.args?.join(' '));
      assert.deepEqual(pod.spec?.initContainers?.[0]?.securityContext?.capabilities?.add, [
        'NET_ADMIN',
        'NET_RAW',
      ]);
      assert.equal(pod.spec?.containers[0]?.readinessProbe?.httpGet?.path, '/app-health/reviews/readyz');
      assert.equal(pod.metadata?.labels?.['security.weft.dev/tlsMode'], 'weft');
      assert.ok(pod.metadata?.annotations?.[INJECTED_ANNOTATION], 'the pod records its injection');
      const token = pod.spec?.volumes?.find((v) => v.name === 'weft-token');
      assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'weft-ca');
      // The kubelet resolves this from the downward API: the controller's pod had no name at admission.
      assert.ok(pod.metadata?.name?.startsWith('reviews-'), label);
    }
    assert.match(platform!.controlPlane.logs(), /injected the Weft proxy/);
  });

  it('leaves an opted-out pod untouched', async () => {
    const created = await core.createNamespacedPod({
      namespace: injected.name,
      body: bare('opted-out', { 'sidecar.weft.dev/inject': 'false' }),
    });
    assert.deepEqual(names(created.spec?.initContainers), []);
    assert.deepEqual(names(created.spec?.containers), ['app']);
    assert.equal(created.metadata?.annotations?.[INJECTED_ANNOTATION], undefined);
  });

  it('leaves a pod in an unlabelled namespace untouched', async () => {
    const created = await core.createNamespacedPod({ namespace: plain.name, body: bare('plain') });
    assert.deepEqual(names(created.spec?.initContainers), []);
    assert.deepEqual(names(created.spec?.containers), ['app']);
    assert.equal(created.metadata?.annotations?.[INJECTED_ANNOTATION], undefined);
  });

  it('injects a pod in a namespace labelled weft.dev/rev=default', async () => {
    const created = await core.createNamespacedPod({ namespace: revision.name, body: bare('by-revision') });
    assert.deepEqual(names(created.spec?.initContainers), ['weft-init', 'weft-proxy']);
  });

  it('refuses a pod with a bad annotation, naming the pod, the annotation and the fix', async () => {
    const bad = bare('bad-cpu', {}, { 'sidecar.weft.dev/proxyCPU': 'lots' });
    const err = await core.createNamespacedPod({ namespace: injected.name, body: bad }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: string },
    );
    assert.ok(err, 'the pod was admitted');
    assert.match(String(err.body), /denied the request/);
    assert.match(String(err.body), new RegExp(`Pod ${injected.name}/bad-cpu cannot be given a Weft proxy`));
    assert.match(String(err.body), /sidecar.weft.dev\/proxyCPU: \\?"lots\\?".*quantity such as/);
  });

  describe('re-injection', () => {
    const injectedPod = async (): Promise<V1Pod> => {
      const [pod] = await podsOf(injected.name, 'reviews');
      assert.ok(pod, 'no injected pod to send again');
      return pod;
    };

    it('is a no-op through the API server: the injected pod created again (dry run) comes back unchanged', async () => {
      const pod = await injectedPod();
      // As a user would re-apply it: without what the API server assigns (name, uid, node, priority).
      const again: V1Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'again', labels: pod.metadata?.labels, annotations: pod.metadata?.annotations },
        spec: { ...pod.spec!, nodeName: undefined, priority: undefined },
      };
      const created = await core.createNamespacedPod({
        namespace: injected.name,
        body: again,
        dryRun: 'All',
      });
      assert.deepEqual(created.spec?.initContainers, pod.spec?.initContainers);
      assert.deepEqual(created.spec?.containers, pod.spec?.containers);
      assert.deepEqual(created.spec?.volumes, pod.spec?.volumes);
      assert.deepEqual(created.metadata?.annotations, pod.metadata?.annotations);
    });

    it('is a no-op at the webhook: the AdmissionReview of the injected pod is admitted without a patch', async () => {
      const pod = await injectedPod();
      const res = await request(`${WEBHOOK}/inject`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid: 'again',
            kind: { group: '', version: 'v1', kind: 'Pod' },
            operation: 'CREATE',
            namespace: injected.name,
            object: pod,
          },
        }),
        dispatcher: new Agent({ connect: { ca: rootPem } }),
      });
      assert.equal(res.statusCode, 200);
      const review = (await res.body.json()) as { response: object };
      assert.deepEqual(review.response, { uid: 'again', allowed: true });
    });
  });
});
