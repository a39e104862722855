import type { AuthorizationPolicy } from '../../crds/generated/types/authorizationpolicy.js';
import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import type { Gateway } from '../../crds/generated/types/gateway.js';
import type { MeshSpec } from '../../crds/generated/types/mesh.js';
import type { PeerAuthentication } from '../../crds/generated/types/peerauthentication.js';
import type { Sidecar } from '../../crds/generated/types/sidecar.js';
import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import type { PathNormalization } from '../../proxy/config/generated/proxy-config.js';

/**
 * Everything the translator reads, already normalised by discovery: Kubernetes Services and
 * ServiceEntries become `MeshService`s, Pods (from EndpointSlices) and WorkloadEntries become
 * `Workload`s. The translator is a pure function of this snapshot and one proxy's identity.
 */

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp' | 'tls';

export interface ServicePort {
  readonly port: number;
  readonly name?: string;
  readonly protocol: Protocol;
  /** A number, or the name of a workload port (WorkloadEntry `ports` / container port name). */
  readonly targetPort?: number | string;
}

export interface MeshService {
  /** Fully qualified: reviews.default.svc.cluster.local, or a ServiceEntry host. */
  readonly host: string;
  readonly namespace: string;
  readonly ports: readonly ServicePort[];
  /** Kubernetes `exportTo` semantics from the weft.dev/exportTo annotation or a ServiceEntry's field; default ["*"]. */
  readonly exportTo?: readonly string[];
  /** Workloads in `namespace` whose labels match are its endpoints. */
  readonly selector?: Readonly<Record<string, string>>;
  /** ServiceEntry endpoints given inline, or external addresses. */
  readonly staticEndpoints?: readonly Workload[];
  readonly resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  readonly location?: 'MESH_INTERNAL' | 'MESH_EXTERNAL';
  /** The cluster IP or ServiceEntry address, for outbound TCP listeners. */
  readonly address?: string;
  /** Creation time, for Istio's oldest-wins conflict resolution. */
  readonly createdAt?: string;
}

export interface Workload {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
  /** Named ports (WorkloadEntry `ports`, container port names). */
  readonly ports?: Readonly<Record<string, number>>;
  /**
   * A WorkloadEntry's `ports` keep Istio's meaning: service port name → this endpoint's port, which
   * wins over the Service's targetPort (the API server always fills targetPort in).
   */
  readonly portsByServicePortName?: boolean;
  readonly weight?: number;
  readonly locality?: string;
  /** Runs a Weft proxy: accepts mesh mTLS and has a SPIFFE identity. */
  readonly meshTls: boolean;
  readonly ready?: boolean;
}

export interface MeshDefaults {
  readonly trustDomain: string;
  /** The mesh namespace: resources there apply mesh-wide (Istio's root namespace). */
  readonly rootNamespace: string;
  readonly mtlsMode: 'STRICT' | 'PERMISSIVE';
  /** The Mesh's spec.security.pathNormalization.normalization; absent, proxies use BASE. */
  readonly pathNormalization?: PathNormalization;
  /** The Mesh's spec.proxy.h2UpgradePolicy: whether http clusters speak HTTP/2 to their hosts; absent, they do not. */
  readonly h2UpgradePolicy?: MeshH2UpgradePolicy;
  /**
   * The mesh roots proxies trust, one PEM certificate each (the CA Secret's root-cert.pem, which holds
   * old and new root during a rotation); absent until the CA is read, and proxies keep their root file.
   */
  readonly trustBundle?: readonly string[];
}

export type MeshH2UpgradePolicy = NonNullable<NonNullable<MeshSpec['proxy']>['h2UpgradePolicy']>;

export interface MeshSnapshot {
  readonly mesh: MeshDefaults;
  readonly services: readonly MeshService[];
  readonly workloads: readonly Workload[];
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly gateways: readonly Gateway[];
  readonly sidecars: readonly Sidecar[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
}

/** The proxy a configuration is for, as it announced itself on connect. */
export interface ProxyIdentity {
  readonly id: string;
  readonly role: 'sidecar' | 'gateway';
  readonly namespace: string;
  readonly workload?: string;
  readonly serviceAccount?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The proxy's own address, to find the services that select it (inbound). */
  readonly address?: string;
}

export function spiffeId(trustDomain: string, namespace: string, serviceAccount = 'default'): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}
