import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import { hostMatches } from './hosts.js';
import { gatewayRef } from './routes.js';
import type { ByHost } from './snapshot-index.js';
import type { ProxyIdentity } from './snapshot.js';
import { byAge, exportedTo, nameOf, namespaceOf, qualify } from './visibility.js';

/** Something the translator noticed about a resource that the user should hear about. */
export interface Diagnostic {
  readonly resource: string;
  readonly message: string;
}

/** Whether a VirtualService names `gateway` (`mesh` or `namespace/name`); none named means `mesh`. Pure. */
export function namesGateway(vs: VirtualService, gateway: string): boolean {
  const gateways = vs.spec?.gateways;
  if (!gateways || gateways.length === 0) return gateway === 'mesh';
  return gateways.some((g) => gatewayRef(g, namespaceOf(vs)) === gateway);
}

/** Whether a VirtualService's exportTo makes it visible to the proxy's namespace (for gateways too, as Istio). Pure. */
export const exportedToProxy = (vs: VirtualService, proxy: ProxyIdentity): boolean =>
  exportedTo(vs.spec?.exportTo, namespaceOf(vs), proxy.namespace);

/**
 * VirtualServices bound to `gateway` (`mesh` or `namespace/name`) and visible to the proxy, oldest
 * first. As Istio's PushContext.VirtualServicesForGateway, exportTo is read against the namespace of
 * the proxy (the gateway workload), not of the Gateway resource. Pure.
 */
export function boundVirtualServices(
  all: readonly VirtualService[],
  proxy: ProxyIdentity,
  gateway: string,
): VirtualService[] {
  return all.filter((vs) => namesGateway(vs, gateway) && exportedToProxy(vs, proxy)).sort(byAge);
}

/**
 * The VirtualService that routes `host` for sidecars: an exact host beats a wildcard; among equals
 * the oldest wins and the others are reported, as Istio resolves such conflicts. Pure.
 */
export function virtualServiceForHost(
  bound: ByHost<VirtualService>,
  host: string,
  diagnostics: Diagnostic[],
): VirtualService | undefined {
  const exact = bound.exact.get(host) ?? [];
  const candidates =
    exact.length > 0
      ? exact
      : bound.wildcard.filter((vs) =>
          (vs.spec?.hosts ?? []).some((h) => hostMatches(qualify(h, namespaceOf(vs)), host)),
        );
  for (const loser of candidates.slice(1)) {
    diagnostics.push({
      resource: `VirtualService ${nameOf(loser)}`,
      message: `host ${host} is also routed by the older VirtualService ${nameOf(candidates[0]!)}, which wins; merge the two or remove the host from one`,
    });
  }
  return candidates[0];
}
