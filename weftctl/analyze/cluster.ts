import { CustomObjectsApi, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { CliError, exitCodes, unavailable } from '../cli-error.js';
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

/** Why a list call failed, and what the user can do about it. */
function listFailure(err: unknown, kind: WeftKind, server: string): CliError | 'not-installed' {
  const status = (err as { code?: unknown }).code;
  if (status === 404) return 'not-installed';
  if (status === 401 || status === 403)
    return unavailable(
      `not allowed to list ${kind.plural}.${kind.group} at ${server} (HTTP ${status}); use a kubeconfig that may`,
    );
  if (typeof status === 'number')
    return new CliError(
      `listing ${kind.plural}.${kind.group} failed with HTTP ${status}`,
      exitCodes.unavailable,
    );
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  return unavailable(
    `cannot reach the Kubernetes API at ${server} (${cause}); check --kubeconfig or $KUBECONFIG, or start the local cluster with npm run cluster -- up`,
  );
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
