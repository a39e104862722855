import type { KubernetesObject, V1Pod, V1Service } from '@kubernetes/client-node';
import type { AuthorizationPolicy } from '../../crds/generated/types/authorizationpolicy.js';
import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import type { Gateway } from '../../crds/generated/types/gateway.js';
import type { PeerAuthentication } from '../../crds/generated/types/peerauthentication.js';
import type { ServiceEntry } from '../../crds/generated/types/serviceentry.js';
import type { Sidecar } from '../../crds/generated/types/sidecar.js';
import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import type { WorkloadEntry } from '../../crds/generated/types/workloadentry.js';
import {
  fromKubernetesService,
  fromPod,
  fromServiceEntry,
  fromWorkloadEntry,
} from '../discovery/normalize.js';
import type { MeshDefaults, MeshSnapshot } from './snapshot.js';

/**
 * A snapshot from plain Kubernetes objects (Services, Pods, WorkloadEntries and every Weft
 * resource), as files or a cluster would give them. Used by golden tests and offline analysis;
 * the control plane builds the same from its informers. Objects without a namespace get `namespace`.
 */
export function snapshotFromObjects(
  objects: readonly KubernetesObject[],
  mesh: MeshDefaults,
  namespace = 'default',
): MeshSnapshot {
  const withNs = objects.map((o) => ({
    ...o,
    metadata: { ...o.metadata, namespace: o.metadata?.namespace ?? namespace },
  }));
  const ofKind = <T>(kind: string): T[] => withNs.filter((o) => o.kind === kind) as T[];
  return {
    mesh,
    services: [
      ...ofKind<V1Service>('Service').flatMap((s) => fromKubernetesService(s) ?? []),
      ...ofKind<ServiceEntry>('ServiceEntry').flatMap(fromServiceEntry),
    ],
    workloads: [
      ...ofKind<V1Pod>('Pod').flatMap((p) => fromPod(p) ?? []),
      ...ofKind<WorkloadEntry>('WorkloadEntry').flatMap((w) => fromWorkloadEntry(w) ?? []),
    ],
    virtualServices: ofKind<VirtualService>('VirtualService'),
    destinationRules: ofKind<DestinationRule>('DestinationRule'),
    gateways: ofKind<Gateway>('Gateway'),
    sidecars: ofKind<Sidecar>('Sidecar'),
    peerAuthentications: ofKind<PeerAuthentication>('PeerAuthentication'),
    authorizationPolicies: ofKind<AuthorizationPolicy>('AuthorizationPolicy'),
  };
}
