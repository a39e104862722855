import type { ClusterLoadAssignment, Endpoint } from '../../proxy/config/generated/proxy-config.js';
import type { MeshService, ServicePort, Workload } from './snapshot.js';
import { spiffeId } from './snapshot.js';
import { selects } from './visibility.js';

/** The workloads behind a service: selected in its namespace, plus ServiceEntry endpoints. Pure. */
export function serviceWorkloads(service: MeshService, workloads: readonly Workload[]): Workload[] {
  const selected = service.selector
    ? workloads.filter(
        (w) => w.namespace === service.namespace && w.ready !== false && selects(service.selector, w.labels),
      )
    : [];
  return [...selected, ...(service.staticEndpoints ?? [])];
}

/** Where a workload serves a service port: a WorkloadEntry port mapped by the port name, the numeric targetPort, its named port, or the service port. Pure. */
export function workloadPort(workload: Workload, port: ServicePort): number | undefined {
  const mapped = workload.portsByServicePortName && port.name ? workload.ports?.[port.name] : undefined;
  if (mapped !== undefined) return mapped;
  if (typeof port.targetPort === 'number') return port.targetPort;
  if (typeof port.targetPort === 'string') return workload.ports?.[port.targetPort];
  return (port.name ? workload.ports?.[port.name] : undefined) ?? port.port;
}

/** The endpoints of one cluster: the service's workloads, narrowed to a subset's labels. Pure. */
export function clusterEndpoints(
  trustDomain: string,
  workloads: readonly Workload[],
  port: ServicePort,
  subsetLabels: Readonly<Record<string, string>> | undefined,
): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const w of workloads) {
    if (subsetLabels && !selects(subsetLabels, w.labels)) continue;
    const target = workloadPort(w, port);
    if (target === undefined) continue;
    endpoints.push({
      address: w.address,
      port: target,
      ...(w.weight !== undefined ? { weight: w.weight } : {}),
      ...(w.locality ? { locality: w.locality } : {}),
      ...(w.meshTls ? { meshTls: true, identity: spiffeId(trustDomain, w.namespace, w.serviceAccount) } : {}),
      labels: { ...w.labels },
    });
  }
  return endpoints.sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
}

export function loadAssignment(cluster: string, endpoints: Endpoint[]): ClusterLoadAssignment {
  return { cluster, endpoints };
}
