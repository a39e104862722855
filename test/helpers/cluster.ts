import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { apiserverUrl } from '../cluster/components.js';
import { probe } from '../cluster/health.js';
import { up } from '../cluster/local-cluster.js';
import { paths } from '../cluster/paths.js';
import { waitUntil } from './wait.js';

let ready: Promise<KubeConfig> | undefined;

/**
 * Starts the local cluster, or reuses the one already serving, and returns a KubeConfig for its admin.
 * `npm test` brings the cluster up before the integration files run; this covers running one file alone.
 */
export function ensureCluster(): Promise<KubeConfig> {
  ready ??= (async () => {
    const readyz = await probe(`${apiserverUrl}/readyz`, undefined, 1_000).catch(() => ({ ok: false }));
    if (!readyz.ok) await up(() => undefined);
    const kc = new KubeConfig();
    kc.loadFromFile(paths.kubeconfig);
    return kc;
  })();
  return ready;
}

/** A namespace of a test's own; `cleanup` deletes it. Waits for its default ServiceAccount so pods can be created. */
export interface TestNamespace {
  readonly name: string;
  cleanup(): Promise<void>;
}

export async function createTestNamespace(
  kc: KubeConfig,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<TestNamespace> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name, labels: { 'weft.dev/test': 'true', ...labels } } },
  });
  await waitUntil(`ServiceAccount ${name}/default`, async () => {
    const list = await core.listNamespacedServiceAccount({ namespace: name });
    return {
      done: list.items.some((sa) => sa.metadata?.name === 'default'),
      state: list.items.map((s) => s.metadata?.name),
    };
  });
  return {
    name,
    cleanup: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

/** The kinds a Mesh's children come in, and whether each is namespaced. */
export const MESH_CHILD_KINDS: readonly { apiVersion: string; kind: string; namespaced: boolean }[] = [
  { apiVersion: 'v1', kind: 'Namespace', namespaced: false },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', namespaced: false },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', namespaced: false },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    namespaced: false,
  },
];

/** Every object of `kinds` (in `namespace`, or everywhere) matching `labelSelector`, with apiVersion and kind set. */
export async function listLabelled(
  kc: KubeConfig,
  kinds: readonly { apiVersion: string; kind: string }[],
  labelSelector: string,
  namespace?: string,
): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: KubernetesObject[] = [];
  for (const { apiVersion, kind } of kinds) {
    const list = await api.list(
      apiVersion,
      kind,
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      labelSelector,
    );
    out.push(...list.items.map((o) => ({ ...o, apiVersion, kind })));
  }
  return out;
}
