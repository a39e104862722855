import { CustomObjectsApi, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { unavailable, type CliError } from '../cli-error.js';
import { apiFailure, statusCodeOf } from '../kube/errors.js';
import type { SourcedObject } from './documents.js';
import type { WeftKind } from './schemas.js';

/** The KubeConfig weftctl uses: --kubeconfig, else $KUBECONFIG, else ~/.kube/config (or in-cluster). */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw unavailable(`cannot load the kubeconfig ${file ?? '(default)'}: ${(err as Error).message}`);
  }
  return kc;
}

/** Why a list call failed, and what the user can do about it (kube/errors.ts, as install says it). */
function listFailure(err: unknown, kind: WeftKind, server: string): CliError | 'not-installed' {
  if (statusCodeOf(err) === 404) return 'not-installed';
  const resource = `${kind.plural}.${kind.group}`;
  return apiFailure(`list ${resource}`, err, server, {
    forbiddenHint: `use a kubeconfig whose user may (kubectl auth can-i list ${resource} says whether yours may)`,
  });
}

/**
 * Every stored object of the Weft kinds, across namespaces or in one. A kind whose CRD is not
 * installed is returned in `notInstalled` rather than failing the analysis.
 */
export async function listClusterObjects(
  kc: KubeConfig,
  kinds: readonly WeftKind[],
  namespace?: string,
): Promise<{ objects: SourcedObject[]; notInstalled: string[] }> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const server = kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
  const objects: SourcedObject[] = [];
  const notInstalled: string[] = [];
  for (const kind of kinds) {
    const request = { group: kind.group, version: kind.version, plural: kind.plural };
    try {
      const list = (await (namespace && kind.scope === 'Namespaced'
        ? api.listNamespacedCustomObject({ ...request, namespace })
        : api.listClusterCustomObject(request))) as { items: KubernetesObject[] };
      for (const item of list.items) {
        const { managedFields: _, ...metadata } = item.metadata ?? {};
        const object = { ...item, apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, metadata };
        objects.push({ object, source: 'cluster' });
      }
    } catch (err) {
      const failure = listFailure(err, kind, server);
      if (failure !== 'not-installed') throw failure;
      notInstalled.push(`${kind.plural}.${kind.group}`);
    }
  }
  return { objects, notInstalled };
}
