import type { V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { ServiceEntry } from '../../crds/generated/types/serviceentry.js';
import type { WorkloadEntry } from '../../crds/generated/types/workloadentry.js';
import { CLUSTER_DOMAIN } from '../translate/hosts.js';
import { defined } from '../translate/routes.js';
import type { MeshService, Protocol, ServicePort, Workload } from '../translate/snapshot.js';

/**
 * Discovery's pure adapters: Kubernetes Services and Pods, ServiceEntries and WorkloadEntries into the
 * translator's `MeshService` and `Workload`.
 */

/** Label that marks a workload as running a Weft proxy (set by injection), as Istio's tlsMode label. */
export const TLS_MODE_LABEL = 'security.weft.dev/tlsMode';
/** Annotation limiting where a Kubernetes Service is visible, as Istio's networking.istio.io/exportTo. */
export const EXPORT_TO_ANNOTATION = 'networking.weft.dev/exportTo';

const PROTOCOL_PREFIXES: readonly [string, Protocol][] = [
  ['http2', 'http2'],
  ['https', 'tls'],
  ['http', 'http'],
  ['grpc-web', 'http'],
  ['grpc', 'grpc'],
  ['tcp', 'tcp'],
  ['tls', 'tls'],
  ['mongo', 'tcp'],
  ['mysql', 'tcp'],
  ['redis', 'tcp'],
];

/**
 * The protocol of a port, as Istio selects it: `appProtocol`, else the port name's prefix (`http`,
 * `http-web`, `grpc-api`, ...). Anything else is TCP: never sniffed, so server-first protocols
 * (MySQL, SMTP) are never stalled waiting for the client to speak. Pure.
 */
export function portProtocol(name: string | undefined, appProtocol?: string): Protocol {
  const declared = (appProtocol ?? name ?? '').toLowerCase();
  for (const [prefix, protocol] of PROTOCOL_PREFIXES) {
    if (declared === prefix || declared.startsWith(`${prefix}-`) || declared.startsWith(`${prefix}_`))
      return protocol;
  }
  if (appProtocol === 'kubernetes.io/h2c') return 'http2';
  return 'tcp';
}

const exportToOf = (annotation: string | undefined): string[] | undefined =>
  annotation
    ? annotation
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

function servicePort(p: V1ServicePort): ServicePort {
  const target =
    p.targetPort === undefined
      ? undefined
      : /^[0-9]+$/.test(String(p.targetPort))
        ? Number(p.targetPort)
        : String(p.targetPort);
  return defined({
    port: p.port,
    name: p.name,
    protocol: p.protocol === 'UDP' ? 'tcp' : portProtocol(p.name, p.appProtocol),
    targetPort: target,
  });
}

const isoTime = (t: Date | string | undefined): string | undefined =>
  t ? new Date(t).toISOString() : undefined;

export function fromKubernetesService(svc: V1Service): MeshService | undefined {
  const { name, namespace, annotations = {}, creationTimestamp } = svc.metadata ?? {};
  const spec = svc.spec ?? {};
  if (!name || !namespace || spec.type === 'ExternalName') return undefined;
  const clusterIP = spec.clusterIP;
  return defined({
    host: `${name}.${namespace}.${CLUSTER_DOMAIN}`,
    namespace,
    ports: (spec.ports ?? []).map(servicePort),
    selector: spec.selector && { ...spec.selector },
    address: clusterIP === 'None' ? undefined : clusterIP,
    exportTo: exportToOf(annotations[EXPORT_TO_ANNOTATION]),
    createdAt: isoTime(creationTimestamp),
  });
}

/** WorkloadEntries join the mesh with a proxy unless labelled otherwise. */
export function fromWorkloadEntry(we: WorkloadEntry): Workload | undefined {
  const spec = we.spec ?? {};
  const name = we.metadata?.name;
  const namespace = we.metadata?.namespace;
  if (!name || !namespace || !spec.address) return undefined;
  const labels = { ...(spec.labels ?? {}) };
  return {
    name,
    namespace,
    address: spec.address,
    labels,
    meshTls: labels[TLS_MODE_LABEL] !== 'disabled',
    ...(spec.serviceAccount ? { serviceAccount: spec.serviceAccount } : {}),
    ...(spec.ports ? { ports: { ...spec.ports }, portsByServicePortName: true } : {}),
    ...(spec.weight !== undefined ? { weight: spec.weight } : {}),
    ...(spec.locality ? { locality: spec.locality } : {}),
  };
}

function namedPorts(pod: V1Pod): Record<string, number> {
  const ports: Record<string, number> = {};
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
  return ports;
}

export function fromPod(pod: V1Pod): Workload | undefined {
  const { name, namespace } = pod.metadata ?? {};
  const address = pod.status?.podIP;
  if (!name || !namespace || !address) return undefined;
  const labels = { ...pod.metadata?.labels };
  return {
    name,
    namespace,
    address,
    labels,
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    ports: namedPorts(pod),
    meshTls: labels[TLS_MODE_LABEL] === 'weft',
    ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  };
}

/** One MeshService per ServiceEntry host. */
export function fromServiceEntry(se: ServiceEntry): MeshService[] {
  const spec = se.spec;
  const namespace = se.metadata?.namespace;
  if (!spec || !namespace) return [];
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    port: p.number,
    name: p.name,
    protocol: portProtocol(p.protocol ?? p.name),
    ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
  }));
  const staticEndpoints: Workload[] = (spec.endpoints ?? []).flatMap((e, i) =>
    e.address
      ? [
          {
            name: `${se.metadata?.name}-${i}`,
            namespace,
            address: e.address,
            labels: { ...(e.labels ?? {}) },
            meshTls: (e.labels ?? {})[TLS_MODE_LABEL] === 'weft',
            ...(e.ports ? { ports: { ...e.ports } } : {}),
            ...(e.weight !== undefined ? { weight: e.weight } : {}),
            ...(e.serviceAccount ? { serviceAccount: e.serviceAccount } : {}),
          },
        ]
      : [],
  );
  return spec.hosts.map((host) => ({
    host,
    namespace,
    ports,
    resolution: spec.resolution ?? 'NONE',
    location: spec.location ?? 'MESH_EXTERNAL',
    ...(spec.exportTo ? { exportTo: [...spec.exportTo] } : {}),
    ...(spec.addresses?.[0] ? { address: spec.addresses[0] } : {}),
    ...(spec.workloadSelector?.labels ? { selector: { ...spec.workloadSelector.labels } } : {}),
    ...(staticEndpoints.length > 0 ? { staticEndpoints } : {}),
    ...(se.metadata?.creationTimestamp
      ? { createdAt: new Date(se.metadata.creationTimestamp).toISOString() }
      : {}),
  }));
}
