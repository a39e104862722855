import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Sidecar } from '../../crds/generated/types/sidecar.js';
import { fqdn, hostMatches } from './hosts.js';
import type { MeshService, MeshSnapshot, ProxyIdentity } from './snapshot.js';

/** Which resources and services a proxy sees: exportTo, Sidecar egress, and selectors, as Istio scopes them. */

interface Namespaced {
  readonly metadata?: V1ObjectMeta;
}

export const namespaceOf = (obj: Namespaced): string => obj.metadata?.namespace ?? 'default';
export const nameOf = (obj: Namespaced): string => `${namespaceOf(obj)}/${obj.metadata?.name ?? ''}`;

/** Istio's precedence among conflicting resources: the oldest wins, then by namespace/name. Pure. */
export function byAge<T extends Namespaced>(a: T, b: T): number {
  const ta = new Date(a.metadata?.creationTimestamp ?? 0).getTime();
  const tb = new Date(b.metadata?.creationTimestamp ?? 0).getTime();
  return ta - tb || nameOf(a).localeCompare(nameOf(b));
}

/** Whether `exportTo` (default: everywhere) makes a resource of `ownNamespace` visible in `toNamespace`. Pure. */
export function exportedTo(
  exportTo: readonly string[] | undefined,
  ownNamespace: string,
  toNamespace: string,
): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? ownNamespace === toNamespace : e === toNamespace));
}

/** Labels `selector` (all must match); an absent selector selects every workload. Pure. */
export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/**
 * The Sidecar resource that applies to a proxy: one whose workloadSelector selects it in its namespace,
 * else its namespace's Sidecar without selector, else the root namespace's. Oldest first on ties. Pure.
 */
export function sidecarFor(snapshot: MeshSnapshot, proxy: ProxyIdentity): Sidecar | undefined {
  const sorted = [...snapshot.sidecars].sort(byAge);
  const inNamespace = sorted.filter((s) => namespaceOf(s) === proxy.namespace);
  return (
    inNamespace.find(
      (s) => s.spec?.workloadSelector && selects(s.spec.workloadSelector.labels, proxy.labels),
    ) ??
    inNamespace.find((s) => !s.spec?.workloadSelector) ??
    sorted.find((s) => namespaceOf(s) === snapshot.mesh.rootNamespace && !s.spec?.workloadSelector)
  );
}

/** Whether a Sidecar's egress `namespace/host` entries let the proxy see `service`. Pure. */
export function egressAllows(
  sidecar: Sidecar | undefined,
  proxyNamespace: string,
  service: MeshService,
): boolean {
  const egress = sidecar?.spec?.egress;
  if (!egress || egress.length === 0) return true;
  return egress.some((listener) =>
    (listener.hosts ?? []).some((entry) => {
      const [ns, host] = entry.includes('/') ? entry.split('/', 2) : ['*', entry];
      const nsOk =
        ns === '*' || (ns === '.' ? service.namespace === proxyNamespace : ns === service.namespace);
      return nsOk && hostMatches(host ?? '*', service.host);
    }),
  );
}

/** The services a proxy may send to, in a stable order. Pure. */
export function visibleServices(snapshot: MeshSnapshot, proxy: ProxyIdentity): MeshService[] {
  const sidecar = proxy.role === 'sidecar' ? sidecarFor(snapshot, proxy) : undefined;
  return snapshot.services
    .filter((s) => exportedTo(s.exportTo, s.namespace, proxy.namespace))
    .filter((s) => egressAllows(sidecar, proxy.namespace, s))
    .sort((a, b) => a.host.localeCompare(b.host));
}

/** A host named in a resource of `namespace`, fully qualified. */
export const qualify = (host: string, namespace: string): string => fqdn(host, namespace);
