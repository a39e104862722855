import {
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { meshSpecWithDefaults } from '../../crds/defaults.js';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import type { ServiceEntry } from '../../crds/generated/types/serviceentry.js';
import type { WorkloadEntry } from '../../crds/generated/types/workloadentry.js';
import { activeMeshName } from '../mesh/conditions.js';
import {
  fromKubernetesService,
  fromPod,
  fromServiceEntry,
  fromWorkloadEntry,
} from '../discovery/normalize.js';
import { Informer } from '../runtime/informer.js';
import { collectionPath, type KindInfo } from '../runtime/kinds.js';
import type { MeshSnapshot } from '../translate/snapshot.js';

/** What discovery watches. `workload` kinds change only endpoints; the others change configuration. */
export const WATCHED = {
  Service: {
    info: { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
    workload: false,
  },
  Pod: { info: { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }, workload: true },
  WorkloadEntry: {
    info: {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'WorkloadEntry',
      plural: 'workloadentries',
      namespaced: true,
    },
    workload: true,
  },
  ServiceEntry: {
    info: {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'ServiceEntry',
      plural: 'serviceentries',
      namespaced: true,
    },
    workload: false,
  },
  VirtualService: {
    info: {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      plural: 'virtualservices',
      namespaced: true,
    },
    workload: false,
  },
  DestinationRule: {
    info: {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'DestinationRule',
      plural: 'destinationrules',
      namespaced: true,
    },
    workload: false,
  },
  Gateway: {
    info: { apiVersion: 'networking.weft.dev/v1', kind: 'Gateway', plural: 'gateways', namespaced: true },
    workload: false,
  },
  Sidecar: {
    info: { apiVersion: 'networking.weft.dev/v1', kind: 'Sidecar', plural: 'sidecars', namespaced: true },
    workload: false,
  },
  PeerAuthentication: {
    info: {
      apiVersion: 'security.weft.dev/v1',
      kind: 'PeerAuthentication',
      plural: 'peerauthentications',
      namespaced: true,
    },
    workload: false,
  },
  AuthorizationPolicy: {
    info: {
      apiVersion: 'security.weft.dev/v1',
      kind: 'AuthorizationPolicy',
      plural: 'authorizationpolicies',
      namespaced: true,
    },
    workload: false,
  },
  Mesh: {
    info: { apiVersion: 'mesh.weft.dev/v1alpha1', kind: 'Mesh', plural: 'meshes', namespaced: false },
    workload: false,
  },
} as const satisfies Record<string, { info: KindInfo; workload: boolean }>;

export type WatchedKind = keyof typeof WATCHED;

/**
 * The control plane's view of the cluster: one informer per watched kind (list, watch from the
 * resourceVersion, relist on 410; nothing polls), and a snapshot of it all for the translator.
 */
export class Discovery {
  private readonly informers = new Map<WatchedKind, Informer<KubernetesObject>>();

  constructor(kc: KubeConfig, log: Logger, onChange: (kind: WatchedKind) => void) {
    const api = KubernetesObjectApi.makeApiClient(kc);
    for (const [kind, { info }] of Object.entries(WATCHED) as [WatchedKind, { info: KindInfo }][]) {
      const informer = new Informer<KubernetesObject>(kc, {
        name: info.plural,
        path: collectionPath(info),
        log,
        list: () => api.list(info.apiVersion, info.kind),
      });
      informer.onEvent(() => onChange(kind));
      this.informers.set(kind, informer);
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  private list<T>(kind: WatchedKind): T[] {
    const info = WATCHED[kind].info;
    return (this.informers.get(kind)?.list() ?? []).map(
      (o) => ({ ...o, apiVersion: info.apiVersion, kind: info.kind }) as T,
    );
  }

  /** The active Mesh, whose settings are the defaults of every proxy's configuration. */
  mesh(): Mesh | undefined {
    const meshes = this.list<Mesh & KubernetesObject>('Mesh');
    const active = activeMeshName(meshes);
    return meshes.find((m) => m.metadata?.name === active);
  }

  /** An immutable snapshot of everything the translator reads; undefined until a Mesh exists. */
  snapshot(): MeshSnapshot | undefined {
    const mesh = this.mesh();
    if (!mesh) return undefined;
    const spec = meshSpecWithDefaults(mesh.spec);
    return {
      mesh: {
        trustDomain: spec.security.trustDomain ?? 'cluster.local',
        rootNamespace: spec.namespace,
        mtlsMode: spec.security.mtls?.mode ?? 'PERMISSIVE',
        pathNormalization: spec.security.pathNormalization?.normalization ?? 'BASE',
        h2UpgradePolicy: spec.proxy.h2UpgradePolicy ?? 'DO_NOT_UPGRADE',
      },
      services: [
        ...this.list<V1Service>('Service').flatMap((s) => fromKubernetesService(s) ?? []),
        ...this.list<ServiceEntry>('ServiceEntry').flatMap(fromServiceEntry),
      ],
      workloads: [
        ...this.list<V1Pod>('Pod').flatMap((p) => fromPod(p) ?? []),
        ...this.list<WorkloadEntry>('WorkloadEntry').flatMap((w) => fromWorkloadEntry(w) ?? []),
      ],
      virtualServices: this.list('VirtualService'),
      destinationRules: this.list('DestinationRule'),
      gateways: this.list('Gateway'),
      sidecars: this.list('Sidecar'),
      peerAuthentications: this.list('PeerAuthentication'),
      authorizationPolicies: this.list('AuthorizationPolicy'),
    };
  }

  /** Whether a WorkloadEntry in `namespace` runs as `serviceAccount` (the CA's check for registration tokens). */
  hasWorkloadEntry(namespace: string, serviceAccount: string): boolean {
    return this.list<WorkloadEntry>('WorkloadEntry').some(
      (w) => w.metadata?.namespace === namespace && (w.spec?.serviceAccount ?? 'default') === serviceAccount,
    );
  }

  destinationRules(): MeshSnapshot['destinationRules'] {
    return this.list('DestinationRule');
  }
}
