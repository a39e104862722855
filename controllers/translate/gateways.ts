import type { Gateway } from '../../crds/generated/types/gateway.js';
import type { TLSRoute, VirtualService } from '../../crds/generated/types/virtualservice.js';
import type {
  Listener,
  RouteConfiguration,
  TcpRoute,
  VirtualHost,
} from '../../proxy/config/generated/proxy-config.js';
import {
  describeServer,
  gatewayPorts,
  gatewayServers,
  hostsDeniedTo,
  hostsFor,
  listenerProtocol,
  terminatesIntoHttp,
  type GatewayPort,
  type GatewayServer,
} from './gateway-servers.js';
import { gatewayTcpRoute } from './gateway-tcp.js';
import { gatewayVirtualHosts, type VirtualHostSources } from './gateway-virtual-hosts.js';
import { intersectHosts } from './hosts.js';
import { l4MatchApplies, weightedClusters, type RouteContext } from './routes.js';
import type { MeshSnapshot, ProxyIdentity } from './snapshot.js';
import {
  exportedToProxy,
  namesGateway,
  virtualServicesForGateway,
  type Diagnostic,
} from './virtual-services.js';
import { byAge, nameOf, namespaceOf, selects } from './visibility.js';

/**
 * Gateway listeners, as Istio builds a gateway's Envoy listeners from its Gateways' servers and the
 * VirtualServices bound to them. A proxy listener here plays the part of an Envoy filter chain:
 *
 * - plaintext HTTP servers of a port share one listener `gateway|<port>` whose route configuration
 *   holds the virtual hosts of every such server (Istio's `http.<port>`); a server with
 *   `tls.httpsRedirect` contributes one virtual host redirecting its hosts to HTTPS (require_tls);
 * - a SIMPLE or MUTUAL server gets its own listener and route configuration, named after the server
 *   (Istio's `https.<port>.<port name>.<gateway>.<namespace>`): the ClientHello's server name picks
 *   it, with its certificate, and the decrypted HTTP follows the VirtualServices bound to its Gateway;
 *   on a TLS, TCP or other non-HTTP port the decrypted stream is forwarded by a `tcp` route instead
 *   (Istio's TLS + SIMPLE: VirtualService `tls` routes are for PASSTHROUGH servers);
 * - a PASSTHROUGH server gets one listener per `tls` route of a bound VirtualService, chosen by the
 *   route's SNI hosts (within the server's) and forwarding the still-encrypted bytes (Istio's filter
 *   chain per TLS route, `server_names` → `tcp_proxy`);
 * - a TCP server gets one listener forwarding by the first applicable `tcp` route (gateway-tcp.ts).
 *
 * A Gateway without selector (or with an empty one) applies to every gateway proxy, as Istio's
 * mergeGateways. A VirtualService binds only if its exportTo reaches the gateway proxy's namespace
 * (not the Gateway's), as Istio's VirtualServicesForGateway, and in its order: private to that
 * namespace, then exported to it by name, then public, oldest first within each: the routes of every
 * VirtualService for an HTTP host are appended in that order to the host's one virtual host
 * (gateway-virtual-hosts.ts), and the first to claim an SNI host or TCP server keeps it
 * (virtual-services.ts). A server host `ns/host` (`./host`: the Gateway's namespace) further binds
 * only the VirtualServices of that namespace, as Istio's host.NamesForNamespace; a bare host, or one
 * under namespace `*`, binds any. Both must allow it.
 *
 * On a TLS port every server name belongs to one listener: servers are taken oldest Gateway first
 * and in spec order; a server with a host an earlier server already has is left out entirely, as
 * Istio skips a server with a duplicate SNI host, and a route's SNI host an earlier server or route
 * has is dropped from that route. Each is reported. Pure.
 */

interface GatewayContext {
  readonly proxy: ProxyIdentity;
  readonly lookupService: RouteContext['lookupService'];
  /** VirtualServices bound to a Gateway (`namespace/name`) and visible to the proxy, in Istio's order. */
  readonly bound: (gateway: string) => readonly VirtualService[];
  readonly diagnostics: Diagnostic[];
}

interface Built {
  readonly listeners: Listener[];
  readonly routes: RouteConfiguration[];
}

/** Gateway listeners and route configurations of a gateway proxy. */
export function gatewayListeners(
  snapshot: MeshSnapshot,
  proxy: ProxyIdentity,
  lookupService: RouteContext['lookupService'],
  diagnostics: Diagnostic[],
): Built {
  const gateways = snapshot.gateways
    .filter((g: Gateway) => selects(g.spec?.selector, proxy.labels))
    .sort(byAge);
  const boundTo = new Map<string, VirtualService[]>();
  const bound = (gateway: string): VirtualService[] => {
    let found = boundTo.get(gateway);
    if (!found)
      boundTo.set(gateway, (found = virtualServicesForGateway(snapshot.virtualServices, proxy, gateway)));
    return found;
  };
  const g: GatewayContext = { proxy, lookupService, bound, diagnostics };
  reportNotExported(snapshot, gateways, proxy, diagnostics);
  const servers = gatewayServers(gateways, diagnostics);
  reportUnserved(servers, g);
  const built: Built = { listeners: [], routes: [] };
  for (const port of gatewayPorts(servers, diagnostics)) {
    if (port.family === 'http') httpPort(port, g, built);
    else if (port.family === 'tls') tlsPort(port, g, built);
    else built.listeners.push(tcpServer(port.servers[0]!, g));
  }
  return built;
}

/**
 * A VirtualService that names a Gateway of this proxy but whose exportTo leaves out the proxy's
 * namespace is not bound (Istio: VirtualServicesForGateway(proxy namespace, gateway)), and is reported.
 */
function reportNotExported(
  snapshot: MeshSnapshot,
  gateways: readonly Gateway[],
  proxy: ProxyIdentity,
  diagnostics: Diagnostic[],
): void {
  const hidden = snapshot.virtualServices.filter((vs) => !exportedToProxy(vs, proxy)).sort(byAge);
  for (const gateway of gateways.map(nameOf)) {
    for (const vs of hidden.filter((v) => namesGateway(v, gateway))) {
      const namespace = namespaceOf(vs);
      const exportTo = vs.spec?.exportTo ?? [];
      const reached = [...new Set(exportTo.map((e) => (e === '.' ? namespace : e)))];
      const only = `namespace${reached.length === 1 ? '' : 's'} ${reached.join(', ')}`;
      diagnostics.push({
        resource: `VirtualService ${nameOf(vs)}`,
        message: `spec.exportTo [${exportTo.join(', ')}] exports it only to ${only}, so it is not routed through Gateway ${gateway} by the gateway proxy in namespace ${proxy.namespace} (exportTo is read against the gateway proxy's namespace, not the Gateway's, as in Istio); add ${proxy.namespace} (or "*") to spec.exportTo`,
      });
    }
  }
}

/**
 * A VirtualService bound to a Gateway that routes nothing through it is reported: none of the
 * Gateway's servers has any of its hosts, or a server has one only for other namespaces (`ns/host`).
 */
function reportUnserved(servers: readonly GatewayServer[], g: GatewayContext): void {
  for (const gateway of new Set(servers.map((s) => s.gateway))) {
    const own = servers.filter((s) => s.gateway === gateway);
    for (const vs of g.bound(gateway)) {
      const vsHosts = vs.spec?.hosts ?? [];
      const namespace = namespaceOf(vs);
      const denied = own.filter((s) => reportNamespaceDenied(s, vs, g.diagnostics)).length > 0;
      if (denied || own.some((s) => intersectHosts(vsHosts, hostsFor(s, namespace)).length > 0)) continue;
      g.diagnostics.push({
        resource: `VirtualService ${nameOf(vs)}`,
        message: `none of its hosts is served by Gateway ${gateway}; add a matching host to one of the Gateway's servers or to the VirtualService`,
      });
    }
  }
}

/**
 * Reports the hosts of `vs` that match a host of server `s` only through `ns/host` entries for other
 * namespaces, so are not bound through it; true when there are any.
 */
function reportNamespaceDenied(s: GatewayServer, vs: VirtualService, diagnostics: Diagnostic[]): boolean {
  const namespace = namespaceOf(vs);
  const vsHosts = vs.spec?.hosts ?? [];
  const allowed = new Set(intersectHosts(vsHosts, hostsFor(s, namespace)));
  const blocked = new Set<string>();
  const entries = hostsDeniedTo(s, namespace).filter((h) => {
    const through = intersectHosts(vsHosts, [h.host]).filter((x) => !allowed.has(x));
    for (const x of through) blocked.add(x);
    return through.length > 0;
  });
  if (entries.length === 0) return false;
  const namespaces = [...new Set(entries.map((h) => h.namespace))].join(' or ');
  const which = blocked.size === 1 ? `host ${[...blocked][0]} is` : `hosts ${[...blocked].join(', ')} are`;
  const fix = entries[0]!.host;
  diagnostics.push({
    resource: `VirtualService ${nameOf(vs)}`,
    message: `${which} not routed through Gateway ${s.gateway} ${describeServer(s)}: the server admits only VirtualServices of namespace ${namespaces} there (${entries.map((h) => `${h.namespace}/${h.host}`).join(', ')}), and this one is in ${namespace}; move it to namespace ${namespaces}, or add ${namespace}/${fix} (or */${fix}) to the server's hosts`,
  });
  return true;
}

const routeContext = (s: GatewayServer, g: GatewayContext): RouteContext => ({
  proxy: g.proxy,
  port: s.server.port.number,
  gateway: s.gateway,
  lookupService: g.lookupService,
});

const virtualHostSources = (g: GatewayContext): VirtualHostSources => ({
  bound: g.bound,
  routeContext: (s) => routeContext(s, g),
  diagnostics: g.diagnostics,
});

/**
 * Plaintext HTTP servers of one port: one listener routing by Host over all their virtual hosts, one
 * per host whichever servers and Gateways bring it, holding the routes of every VirtualService for
 * it in turn (gateway-virtual-hosts.ts); a server with tls.httpsRedirect brings its own.
 */
function httpPort(port: GatewayPort, g: GatewayContext, built: Built): void {
  const name = `gateway|${port.port}`;
  const virtualHosts = gatewayVirtualHosts(port.servers, virtualHostSources(g), (s) =>
    s.server.tls?.httpsRedirect ? httpsRedirectHost(s, g) : undefined,
  );
  const protocol = listenerProtocol(port.servers[0]!.server);
  built.listeners.push({ name, direction: 'gateway', port: port.port, protocol, routeConfig: name });
  built.routes.push({ name, virtualHosts });
}

/**
 * A plaintext server with tls.httpsRedirect: one virtual host, named after the server, answering
 * every request for its hosts with a redirect to HTTPS (Envoy's require_tls ALL, as Istio sets it on
 * the server's virtual hosts). Only this server's hosts: other servers of the port route as usual.
 * It lists the hosts of the VirtualServices bound through it as well, so an exact host keeps winning
 * over another server's wildcard as it would if it routed. No route is listed: none would be read.
 */
function httpsRedirectHost(s: GatewayServer, g: GatewayContext): VirtualHost {
  const number = s.server.port.number;
  const hosts = new Set(s.hosts);
  for (const vs of g.bound(s.gateway)) {
    if (!vs.spec?.http?.length) continue;
    for (const h of intersectHosts(vs.spec.hosts ?? [], hostsFor(s, namespaceOf(vs)))) hosts.add(h);
  }
  const domains = [...hosts].flatMap((h) => [h, `${h}:${number}`]);
  return { name: s.name, domains, routes: [], requireTls: 'ALL' };
}

/**
 * A TCP server: bytes are not inspected, they go where a VirtualService tcp route says
 * (gateway-tcp.ts); without one it closes its connections, and says so.
 */
function tcpServer(s: GatewayServer, g: GatewayContext): Listener {
  const listener: Listener = {
    name: s.name,
    direction: 'gateway',
    port: s.port,
    protocol: listenerProtocol(s.server),
  };
  const tcpRoute = serverTcpRoute(s, g, 'is TCP');
  return tcpRoute ? { ...listener, tcpRoute } : listener;
}

/** The tcp route that forwards a server's connections; without one, a diagnostic says they are closed. */
function serverTcpRoute(s: GatewayServer, g: GatewayContext, what: string): TcpRoute | undefined {
  const tcpRoute = gatewayTcpRoute(s, g.bound(s.gateway), routeContext(s, g), g.diagnostics);
  if (tcpRoute) return tcpRoute;
  g.diagnostics.push({
    resource: `Gateway ${s.gateway}`,
    message: `${describeServer(s)} ${what}, but no tcp route of a VirtualService bound to it applies, so its connections are closed; add a VirtualService bound to the Gateway, with one of the server's hosts, and a tcp route without match or with match.port ${s.server.port.number}`,
  });
  return undefined;
}

/** Who holds each server name on a TLS port, for conflicts: servers' hosts, and the SNI table's keys. */
interface Claims {
  readonly serverHosts: Map<string, string>;
  readonly sni: Map<string, string>;
}

/** TLS servers of one port, each chosen by server name: terminated, or passed through by route. */
function tlsPort(port: GatewayPort, g: GatewayContext, built: Built): void {
  const claims: Claims = { serverHosts: new Map(), sni: new Map() };
  for (const s of port.servers) {
    const owner = `Gateway ${s.gateway} ${describeServer(s)}`;
    const taken = s.hosts.find(
      (h) => claims.serverHosts.has(h) || (s.kind === 'terminate' && claims.sni.has(h)),
    );
    if (taken !== undefined) {
      g.diagnostics.push({
        resource: `Gateway ${s.gateway}`,
        message: `${describeServer(s)} is not served: host ${taken} on port ${s.port} already belongs to ${claims.serverHosts.get(taken) ?? claims.sni.get(taken)}; servers sharing a port need different hosts (Istio rejects duplicate SNI hosts): drop the host or move the server to another port`,
      });
      continue;
    }
    for (const h of s.hosts) claims.serverHosts.set(h, owner);
    if (s.kind === 'terminate') {
      for (const h of s.hosts) claims.sni.set(h, owner);
      terminatingServer(s, g, built);
    } else passthroughServer(s, g, claims.sni, built);
  }
}

/**
 * A SIMPLE or MUTUAL server: its credential terminates. HTTP inside routes by its own route
 * configuration; on a non-HTTP port the TCP stream inside goes where a `tcp` route says, and without
 * one the server gets no listener, so its server names are closed (Istio builds no filter chain).
 */
function terminatingServer(s: GatewayServer, g: GatewayContext, built: Built): void {
  const { tls } = s.server;
  const listener: Listener = {
    name: s.name,
    direction: 'gateway',
    port: s.port,
    protocol: listenerProtocol(s.server),
    tls: {
      mode: tls!.mode as 'SIMPLE' | 'MUTUAL',
      ...(tls?.credentialName ? { credentialName: tls.credentialName } : {}),
      hosts: [...s.hosts],
    },
  };
  if (terminatesIntoHttp(s.server)) {
    built.listeners.push({ ...listener, routeConfig: s.name });
    built.routes.push({ name: s.name, virtualHosts: gatewayVirtualHosts([s], virtualHostSources(g)) });
    return;
  }
  const tcpRoute = serverTcpRoute(
    s,
    g,
    `terminates TLS and forwards the TCP stream inside (VirtualService tls routes serve PASSTHROUGH servers only)`,
  );
  if (tcpRoute) built.listeners.push({ ...listener, tcpRoute });
}

/**
 * A PASSTHROUGH server: a listener per `tls` route of the VirtualServices bound to its Gateway
 * (in Istio's order, routes in order), for the route's SNI hosts within the server's that no earlier
 * server or route holds; the encrypted bytes go to the route's destinations.
 */
function passthroughServer(
  s: GatewayServer,
  g: GatewayContext,
  sni: Map<string, string>,
  built: Built,
): void {
  const ctx = routeContext(s, g);
  const before = built.listeners.length;
  for (const vs of g.bound(s.gateway)) {
    (vs.spec?.tls ?? []).forEach((route, i) => {
      const owner = `VirtualService ${nameOf(vs)} tls[${i}]`;
      const hosts = routeSniHosts(route, vs, s, ctx).filter((h) => {
        const holder = sni.get(h);
        if (holder === undefined) return true;
        g.diagnostics.push({
          resource: `VirtualService ${nameOf(vs)}`,
          message: `tls[${i}]: SNI host ${h} on Gateway ${s.gateway} port ${s.server.port.number} already belongs to ${holder}, which wins; remove the host from one of them`,
        });
        return false;
      });
      if (hosts.length === 0) return;
      for (const h of hosts) sni.set(h, owner);
      built.listeners.push({
        name: `${s.name}|${nameOf(vs)}/tls/${i}`,
        direction: 'gateway',
        port: s.port,
        protocol: 'tls',
        tls: { mode: 'PASSTHROUGH', hosts },
        tcpRoute: { clusters: weightedClusters(route.route, namespaceOf(vs), ctx) },
      });
    });
  }
  if (built.listeners.length > before) return;
  g.diagnostics.push({
    resource: `Gateway ${s.gateway}`,
    message: `${describeServer(s)} is PASSTHROUGH, but no tls route of a VirtualService bound to it matches its hosts, so its connections are closed; add a VirtualService with tls routes whose sniHosts match the server's hosts`,
  });
}

/** The SNI hosts a tls route serves on a server: those of its matches that apply here, within the server's hosts. */
function routeSniHosts(route: TLSRoute, vs: VirtualService, s: GatewayServer, ctx: RouteContext): string[] {
  const applicable = route.match.filter((m) => l4MatchApplies(m, vs, ctx));
  const hosts = hostsFor(s, namespaceOf(vs));
  return [...new Set(applicable.flatMap((m) => intersectHosts(m.sniHosts, hosts)))];
}
