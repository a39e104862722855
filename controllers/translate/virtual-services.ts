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

/** VirtualServices bound to `gateway` (`mesh` or `namespace/name`) and visible to the proxy, oldest first. Pure. */
export function boundVirtualServices(
  all: readonly VirtualService[],
  proxy: ProxyIdentity,
  gateway: string,
): VirtualService[] {
  return all.filter((vs) => namesGateway(vs, gateway) && exportedToProxy(vs, proxy)).sort(byAge);
}

/** Istio's classes of a gateway's VirtualServices, in the order it lists them (see gatewayExportClass). */
const PRIVATE = 0;
const EXPORTED = 1;
const PUBLIC = 2;

/**
 * Where a VirtualService visible in the gateway proxy's namespace stands among a gateway's, as
 * Istio's PushContext.initVirtualServices files it (pilot/pkg/model/push_context.go): private to the
 * namespace (`privateByNamespaceAndGateway`: a VirtualService of that namespace whose exportTo has
 * `.` or the namespace's own name), exported to it by name (`exportedToNamespaceByGateway`), or
 * public (`publicByGateway`: exportTo `*`, which outweighs the rest, or none: Istio's default, and
 * Weft has no `defaultVirtualServiceExportTo`). Pure.
 */
export function gatewayExportClass(vs: VirtualService, proxyNamespace: string): number {
  const exportTo = vs.spec?.exportTo ?? [];
  if (exportTo.length === 0 || exportTo.includes('*')) return PUBLIC;
  const own = namespaceOf(vs);
  if (own === proxyNamespace && exportTo.some((e) => e === '.' || e === own)) return PRIVATE;
  return EXPORTED;
}

/**
 * VirtualServices bound to Gateway `gateway` (`namespace/name`) and exported to the gateway proxy's
 * namespace, in the order Istio's PushContext.VirtualServicesForGateway(proxy namespace, gateway)
 * returns them (pilot/pkg/model/push_context.go): those private to the proxy's namespace, then those
 * exported to it by name, then public ones; each class oldest first, as initVirtualServices files them
 * in creation order (sortConfigByCreationTime; on equal timestamps Istio compares name, then
 * namespace, where Weft's byAge compares namespace/name). Istio puts public VirtualServices of the
 * proxy's namespace first only for those made from Kubernetes Gateway API routes, which Weft has
 * not. This order is the order of the routes of VirtualServices that share a host on a gateway (they
 * are appended into one virtual host, as Istio does: gateway-virtual-hosts.ts), and decides between
 * those that claim the same SNI host or TCP server: the earlier one's tls route keeps the SNI host, its
 * tcp route the server. Pure.
 */
export function virtualServicesForGateway(
  all: readonly VirtualService[],
  proxy: ProxyIdentity,
  gateway: string,
): VirtualService[] {
  const classOf = (vs: VirtualService): number => gatewayExportClass(vs, proxy.namespace);
  return all
    .filter((vs) => namesGateway(vs, gateway) && exportedToProxy(vs, proxy))
    .sort((a, b) => classOf(a) - classOf(b) || byAge(a, b));
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
