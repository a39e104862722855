import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { listClusterObjects } from '../analyze/cluster.js';
import { foreignOwner } from '../check/evaluate-cluster.js';
import { loadKindSchemas } from '../analyze/schemas.js';
import type { ClusterWriter } from '../kube/apply.js';
import type { InstallObjects } from './objects.js';

/** What of Weft a cluster holds: the install's own objects, and the Meshes and resources using it. */
export interface Inventory {
  readonly crds: readonly KubernetesObject[];
  readonly operator: readonly KubernetesObject[];
  readonly meshes: readonly KubernetesObject[];
  /** Weft resources other than Meshes (VirtualServices, AuthorizationPolicies, ...). */
  readonly resources: readonly KubernetesObject[];
  /** Why a present CRD is someone else's (OLM's, another project's): uninstall leaves those alone. */
  readonly foreignCrds: readonly string[];
}

export async function takeInventory(
  kc: KubeConfig,
  writer: ClusterWriter,
  objects: InstallObjects,
): Promise<Inventory> {
  const present = async (list: readonly KubernetesObject[]): Promise<KubernetesObject[]> => {
    const found: KubernetesObject[] = [];
    for (const o of list) if (await writer.read(o)) found.push(o);
    return found;
  };
  const crds: KubernetesObject[] = [];
  const foreignCrds: string[] = [];
  for (const crd of objects.crds) {
    const live = await writer.read(crd);
    if (!live) continue;
    const owner = foreignOwner(crd.metadata!.name!, live.metadata?.labels ?? {});
    if (owner) foreignCrds.push(owner);
    else crds.push(crd);
  }
  const kinds = [...loadKindSchemas().values()].map((s) => s.info);
  const stored = crds.length > 0 ? (await listClusterObjects(kc, kinds)).objects.map((s) => s.object) : [];
  return {
    crds,
    operator: await present(objects.operator),
    meshes: stored.filter((o) => o.kind === 'Mesh'),
    resources: stored.filter((o) => o.kind !== 'Mesh'),
    foreignCrds,
  };
}

const ref = (o: KubernetesObject): string =>
  `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

/** Up to `max` object references, then "and N more". Pure. */
export function listSome(objects: readonly KubernetesObject[], max = 5): string {
  const shown = objects.slice(0, max).map(ref).join(', ');
  return objects.length > max ? `${shown} and ${objects.length - max} more` : shown;
}

/**
 * Why uninstall will not go ahead without --yes, or undefined when nothing would be lost: the
 * Meshes (deleting one tears its mesh down) and, unless the CRDs are kept, every Weft resource
 * (deleting a CRD deletes its objects). Pure.
 */
export function uninstallRefusal(inventory: Inventory, keepCrds: boolean): string | undefined {
  const lost = [...inventory.meshes, ...(keepCrds ? [] : inventory.resources)];
  if (lost.length === 0) return undefined;
  const what = keepCrds
    ? 'its Meshes (the CRDs and your other Weft resources are kept)'
    : 'its Meshes and, with the CRDs, every Weft resource';
  return `uninstalling Weft deletes ${what}: ${listSome(lost)}.\nRerun with --yes to delete them${keepCrds || inventory.resources.length === 0 ? '' : ', or with --keep-crds --yes to keep your VirtualServices and other Weft resources'}.`;
}
