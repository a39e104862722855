import type { TCPRoute, VirtualService } from '../../crds/generated/types/virtualservice.js';
import type { TcpRoute } from '../../proxy/config/generated/proxy-config.js';
import { describeServer, hostsFor, type GatewayServer } from './gateway-servers.js';
import { intersectHosts } from './hosts.js';
import { l4MatchApplies, weightedClusters, type RouteContext } from './routes.js';
import type { Diagnostic } from './virtual-services.js';
import { nameOf, namespaceOf } from './visibility.js';

/**
 * VirtualService `tcp` routes on a gateway TCP server (TCP, MONGO, REDIS... ports: neither HTTP nor
 * TLS chosen by server name) or a server that terminates TLS on such a port, as Istio's
 * buildGatewayNetworkFiltersFromTCPRoutes: among the VirtualServices bound to the server's Gateway
 * that share a host with it (a host its `ns/host` entries admit their namespace to), in Istio's
 * order (virtualServicesForGateway: private to the gateway proxy's namespace, then exported to it,
 * then public, oldest first within each), the first `tcp` route that applies takes every connection, split by weight over its destinations.
 * A route applies when it has no match, or a match whose `port` (the Gateway port number) and
 * `gateways` allow this server.
 *
 * A connection carries no host to choose by, so a server has one route: an applicable route of a
 * later VirtualService is never used, and is reported. Later routes of the winning VirtualService are
 * not: they are its own fallbacks, for other servers or ports. Pure.
 */

const applies = (tcp: TCPRoute, vs: VirtualService, ctx: RouteContext): boolean =>
  !tcp.match || tcp.match.length === 0 || tcp.match.some((m) => l4MatchApplies(m, vs, ctx));

/** The route a server's connections take, or undefined when no tcp route applies to it. */
export function gatewayTcpRoute(
  s: GatewayServer,
  bound: readonly VirtualService[],
  ctx: RouteContext,
  diagnostics: Diagnostic[],
): TcpRoute | undefined {
  let winner: { readonly owner: string; readonly route: TcpRoute } | undefined;
  for (const vs of bound) {
    if (intersectHosts(vs.spec?.hosts ?? [], hostsFor(s, namespaceOf(vs))).length === 0) continue;
    const routes = vs.spec?.tcp ?? [];
    const index = routes.findIndex((tcp) => applies(tcp, vs, ctx));
    if (index < 0) continue;
    if (winner) {
      diagnostics.push({
        resource: `VirtualService ${nameOf(vs)}`,
        message: `tcp[${index}] is not used on Gateway ${s.gateway} ${describeServer(s)}: ${winner.owner} takes its connections, as it comes first (VirtualServices private to the gateway proxy's namespace, then those exported to it by name, then public ones, oldest first within each, as in Istio); TCP carries no host to choose by, so a server has one route: give the routes different servers with match.port or match.gateways, or remove one`,
      });
      continue;
    }
    winner = {
      owner: `VirtualService ${nameOf(vs)} tcp[${index}]`,
      route: { clusters: weightedClusters(routes[index]!.route, namespaceOf(vs), ctx) },
    };
  }
  return winner?.route;
}
