import type { ProxyAnnouncement } from '../../proxy/config/generated/push-protocol.js';

/**
 * The control-plane suite's mesh: services with two subsets each (Service, DestinationRule,
 * VirtualService, two WorkloadEntries) spread over namespaces, each namespace scoped by a Sidecar to
 * itself, and one simulated proxy per workload. Pure: the suite applies and connects what this says.
 */

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: Record<string, unknown>;
}

export const SUBSETS = ['v1', 'v2'] as const;

/** A workload's address: unique per service and subset across 1,000s of services. */
export function workloadAddress(service: number, subset: number, generation = 0): string {
  return `127.${10 + subset + 2 * generation}.${Math.floor(service / 250)}.${service % 250}`;
}

export function virtualService(ns: string, service: number, v1Weight: number): KubeObject {
  const name = `svc${service}`;
  return {
    apiVersion: 'networking.weft.dev/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: ns },
    spec: {
      hosts: [name],
      http: [
        {
          route: [
            { destination: { host: name, subset: 'v1' }, weight: v1Weight },
            { destination: { host: name, subset: 'v2' }, weight: 100 - v1Weight },
          ],
        },
      ],
    },
  };
}

/** `generation` moves the workload to another address: an endpoints-only change. */
export function workloadEntry(ns: string, service: number, subset: number, generation = 0): KubeObject {
  const name = `svc${service}`;
  const version = SUBSETS[subset]!;
  return {
    apiVersion: 'networking.weft.dev/v1',
    kind: 'WorkloadEntry',
    metadata: { name: `${name}-${version}`, namespace: ns },
    spec: {
      address: workloadAddress(service, subset, generation),
      labels: { app: name, version },
      serviceAccount: name,
    },
  };
}

function service(ns: string, i: number): KubeObject[] {
  const name = `svc${i}`;
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080 }] },
    },
    {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'DestinationRule',
      metadata: { name, namespace: ns },
      spec: { host: name, subsets: SUBSETS.map((v) => ({ name: v, labels: { version: v } })) },
    },
    virtualService(ns, i, 90),
    ...SUBSETS.map((_, j) => workloadEntry(ns, i, j)),
  ];
}

/** Every object of one namespace: its Sidecar, then services `first` .. `first + count - 1`. */
export function namespaceManifests(ns: string, first: number, count: number): KubeObject[] {
  const sidecar: KubeObject = {
    apiVersion: 'networking.weft.dev/v1',
    kind: 'Sidecar',
    metadata: { name: 'default', namespace: ns },
    spec: { egress: [{ hosts: ['./*'] }] },
  };
  return [sidecar, ...Array.from({ length: count }, (_, k) => service(ns, first + k)).flat()];
}

/** The simulated proxies of one namespace: one per workload, announcing as a sidecar would. */
export function namespaceProxies(ns: string, first: number, count: number): ProxyAnnouncement[] {
  return Array.from({ length: count }, (_, k) =>
    SUBSETS.map((v) => ({
      id: `svc${first + k}-${v}.${ns}`,
      role: 'sidecar' as const,
      namespace: ns,
      serviceAccount: `svc${first + k}`,
      labels: { app: `svc${first + k}`, version: v },
    })),
  ).flat();
}
