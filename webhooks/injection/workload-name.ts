import type { V1Pod } from '@kubernetes/client-node';

const POD_TEMPLATE_HASH = 'pod-template-hash';

/**
 * The workload a pod belongs to, as Istio names it in telemetry: a Deployment's pod is owned by a
 * ReplicaSet named `<deployment>-<pod-template-hash>`, so the hash is cut off; any other controller
 * (StatefulSet, DaemonSet, Job) is the workload itself; a bare pod is its own workload. At admission
 * a controller's pod has only a generateName, so the name is never needed for those. Pure.
 */
export function workloadName(pod: V1Pod): string {
  const owners = pod.metadata?.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller) ?? owners[0];
  if (owner) return ownerWorkload(owner.kind, owner.name, pod.metadata?.labels?.[POD_TEMPLATE_HASH]);
  return pod.metadata?.name ?? pod.metadata?.generateName?.replace(/-$/, '') ?? 'unknown';
}

function ownerWorkload(kind: string, name: string, hash: string | undefined): string {
  return kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`)
    ? name.slice(0, -(hash.length + 1))
    : name;
}
