import {
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { labelKeys, MANAGED_BY } from '../../cdk8s/names.js';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { Applier } from '../runtime/apply.js';
import { Controller } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { Informer } from '../runtime/informer.js';
import { collectionPath, kinds, type KindInfo } from '../runtime/kinds.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import { CHILD_KINDS, MeshReconciler } from './mesh-reconciler.js';

export interface MeshControllerHost {
  readonly kc: KubeConfig;
  readonly metrics: ControllerMetrics;
  addInformer<T extends KubernetesObject>(informer: Informer<T>): Informer<T>;
  addController(controller: Controller): void;
}

const CHILD_SELECTOR = `${labelKeys.managedBy}=${MANAGED_BY},${labelKeys.mesh}`;

function informerFor<T extends KubernetesObject>(
  host: MeshControllerHost,
  info: KindInfo,
  log: Logger,
  labelSelector?: string,
): Informer<T> {
  const api = KubernetesObjectApi.makeApiClient(host.kc);
  return host.addInformer(
    new Informer<T>(host.kc, {
      name: info.plural,
      path: collectionPath(info),
      labelSelector,
      log,
      list: () =>
        api.list<T>(
          info.apiVersion,
          info.kind,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
        ),
    }),
  );
}

/**
 * Wires the Mesh controller: an informer on Meshes, one per child kind (filtered to the operator's
 * children), and one on all Namespaces (injection selects them by label). Every child event maps back
 * to its Mesh by the `weft.dev/mesh` label; a Namespace event wakes every Mesh.
 */
export function setupMeshController(
  host: MeshControllerHost,
  log: Logger,
  controlPlaneUrl?: string,
): Controller {
  const meshes = informerFor<Mesh & KubernetesObject>(host, kinds.mesh, log);
  const namespaces = informerFor<V1Namespace>(host, kinds.namespace, log);
  const children = new Map<string, Informer<KubernetesObject>>();
  for (const info of CHILD_KINDS) {
    children.set(
      info.kind,
      info === kinds.namespace ? namespaces : informerFor(host, info, log, CHILD_SELECTOR),
    );
  }

  const reconciler = new MeshReconciler({
    kc: host.kc,
    applier: new Applier(host.kc),
    events: new EventRecorder(host.kc, 'weft-operator', log),
    meshes,
    namespaces,
    children,
    controlPlaneUrl,
  });
  const controller = new Controller('mesh', reconciler, { log, metrics: host.metrics });
  const allMeshes = (): { name: string }[] => meshes.list().map((m) => ({ name: m.metadata!.name! }));
  // Any Mesh event may change which Mesh is active, so every Mesh is looked at again.
  controller.watch(meshes, (mesh) => [{ name: mesh.metadata!.name! }, ...allMeshes()]);
  controller.watch(namespaces, (ns) => {
    const owner = ns.metadata?.labels?.[labelKeys.mesh];
    return owner ? [{ name: owner }, ...allMeshes()] : allMeshes();
  });
  for (const info of CHILD_KINDS) {
    if (info === kinds.namespace) continue;
    controller.watch(children.get(info.kind)!, (obj) => {
      const owner = obj.metadata?.labels?.[labelKeys.mesh];
      return owner ? [{ name: owner }] : [];
    });
  }
  host.addController(controller);
  return controller;
}
