import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import type {
  Route,
  RouteMatch,
  StringMatcher,
  VirtualHost,
} from '../../proxy/config/generated/proxy-config.js';
import { hostsFor, type GatewayServer } from './gateway-servers.js';
import { intersectHosts } from './hosts.js';
import { httpRoute, type RouteContext } from './routes.js';
import type { Diagnostic } from './virtual-services.js';
import { nameOf, namespaceOf } from './visibility.js';

/**
 * The virtual hosts of one gateway route configuration (a plaintext port's `gateway|<port>`, or a
 * SIMPLE/MUTUAL server's own), as Istio's buildGatewayHTTPRouteConfig builds them
 * (pilot/pkg/networking/core/v1alpha3/gateway.go): servers in order, for each the VirtualServices
 * bound to its Gateway in VirtualServicesForGateway's order, and for each host they share with the
 * server (the more specific of each matching pair) that VirtualService's routes are appended to the
 * host's one virtual host (`vHostDedupMap`). So VirtualServices that name the same host share it: a
 * request no route of the first matches falls to the next one's, and each route keeps its own name,
 * policies and header rules. Only equal host strings share: `*.example.com` and `a.example.com` are
 * two virtual hosts, and the proxy picks between them by the request's host as usual.
 *
 * As Istio does, a VirtualService's routes stop at its first catch-all (BuildHTTPRoutesForVirtualService),
 * and once several VirtualServices share a host its catch-all routes go last, in order
 * (SortVHostRoutes): a catch-all of the first does not hide the later ones' paths, only their
 * catch-alls, which is reported. A VirtualService none of whose routes applies here adds nothing.
 * Hosts that end up with the same routes share one virtual host (Istio's collapseDuplicateRoutes),
 * named after its VirtualServices. Pure.
 */

/** What virtual hosts are built from. */
export interface VirtualHostSources {
  /** VirtualServices bound to a Gateway (`namespace/name`) and visible to the proxy, in Istio's order. */
  readonly bound: (gateway: string) => readonly VirtualService[];
  readonly routeContext: (s: GatewayServer) => RouteContext;
  readonly diagnostics: Diagnostic[];
}

/** A route with the index of the VirtualService http route it came from. */
interface Indexed {
  readonly route: Route;
  readonly index: number;
}

/** What one VirtualService adds to a host through one server; its routes depend on nothing else. */
interface Part {
  readonly vs: VirtualService;
  readonly server: GatewayServer;
  /** Gateway, VirtualService and server port number. */
  readonly key: string;
  readonly routes: readonly Indexed[];
}

interface HostRoutes {
  readonly host: string;
  readonly domains: Set<string>;
  readonly parts: Part[];
}

/**
 * Virtual hosts for `servers`, in order of first appearance. `own` gives a server a virtual host of
 * its own instead (a plaintext server with tls.httpsRedirect), placed at that server's turn.
 */
export function gatewayVirtualHosts(
  servers: readonly GatewayServer[],
  sources: VirtualHostSources,
  own: (s: GatewayServer) => VirtualHost | undefined = () => undefined,
): VirtualHost[] {
  const slots: (HostRoutes | VirtualHost)[] = [];
  const byHost = new Map<string, HostRoutes>();
  for (const s of servers) {
    const vh = own(s);
    if (vh) slots.push(vh);
    else for (const part of serverParts(s, sources)) addPart(part, byHost, slots);
  }
  return buildVirtualHosts(slots, sources.diagnostics);
}

/** Each VirtualService bound to a server's Gateway with routes here, once for each host it shares with the server. */
function serverParts(s: GatewayServer, sources: VirtualHostSources): { host: string; part: Part }[] {
  const ctx = sources.routeContext(s);
  return sources.bound(s.gateway).flatMap((vs) => {
    // A VirtualService with only tls or tcp routes claims no HTTP host.
    const http = vs.spec?.http ?? [];
    const hosts = intersectHosts(vs.spec?.hosts ?? [], hostsFor(s, namespaceOf(vs)));
    if (hosts.length === 0 || http.length === 0) return [];
    const routes = http.flatMap((h, index) => {
      const route = httpRoute(vs, h, index, ctx);
      return route ? [{ route, index }] : [];
    });
    // Istio adds nothing for a VirtualService none of whose routes applies (no routes matched).
    if (routes.length === 0) return [];
    const key = `${s.gateway}|${nameOf(vs)}|${ctx.port}`;
    return hosts.map((host) => ({ host, part: { vs, server: s, key, routes } }));
  });
}

function addPart(
  { host, part }: { host: string; part: Part },
  byHost: Map<string, HostRoutes>,
  slots: (HostRoutes | VirtualHost)[],
): void {
  let entry = byHost.get(host);
  if (!entry) {
    entry = { host, domains: new Set(), parts: [] };
    byHost.set(host, entry);
    slots.push(entry);
  }
  entry.domains.add(host).add(`${host}:${part.server.server.port.number}`);
  // A VirtualService reached through two servers of one Gateway adds its routes once: a second copy
  // (Istio appends one) could never match first.
  if (!entry.parts.some((p) => p.key === part.key)) entry.parts.push(part);
}

const isHostRoutes = (slot: HostRoutes | VirtualHost): slot is HostRoutes => 'parts' in slot;

/** One virtual host per set of hosts with the same parts, at the first one's place; own virtual hosts as they are. */
function buildVirtualHosts(
  slots: readonly (HostRoutes | VirtualHost)[],
  diagnostics: Diagnostic[],
): VirtualHost[] {
  const groups = new Map<string, HostRoutes[]>();
  for (const slot of slots.filter(isHostRoutes)) {
    const signature = slot.parts.map((p) => p.key).join('\n');
    const group = groups.get(signature);
    if (group) group.push(slot);
    else groups.set(signature, [slot]);
  }
  const names = new Set<string>();
  const out: VirtualHost[] = [];
  for (const slot of slots) {
    if (!isHostRoutes(slot)) {
      out.push(slot);
      continue;
    }
    const group = groups.get(slot.parts.map((p) => p.key).join('\n'))!;
    if (group[0] === slot) out.push(groupVirtualHost(group, names, diagnostics));
  }
  return out;
}

function groupVirtualHost(
  group: readonly HostRoutes[],
  names: Set<string>,
  diagnostics: Diagnostic[],
): VirtualHost {
  const { parts } = group[0]!;
  const domains = [...new Set(group.flatMap((h) => [...h.domains]))];
  const routes = mergedRoutes(
    parts,
    group.map((h) => h.host),
    diagnostics,
  );
  return { name: uniqueName(parts, names), domains, routes };
}

/**
 * `<namespace>/<virtualservice>[,...]:<port>`: the VirtualServices whose routes it holds. The same
 * VirtualServices through other Gateways of the port add `@<gateway>[,...]`, and then a counter.
 */
function uniqueName(parts: readonly Part[], names: Set<string>): string {
  const port = parts[0]!.server.server.port.number;
  const base = `${[...new Set(parts.map((p) => nameOf(p.vs)))].join(',')}:${port}`;
  const gateways = `${base}@${[...new Set(parts.map((p) => p.server.gateway))].join(',')}`;
  let name = names.has(base) ? gateways : base;
  for (let n = 2; names.has(name); n++) name = `${gateways}#${n}`;
  names.add(name);
  return name;
}

/** Every path, as Istio's IsCatchAllRoute reads a match's path: prefix `/`, regex `.*`, or none. */
const everyPath = (uri: StringMatcher | undefined): boolean =>
  !uri ||
  uri.regex === '.*' ||
  (uri.exact === undefined && uri.regex === undefined && (uri.prefix ?? '/') === '/');

/** A match every request meets: every path, and no method, scheme, authority, header or query condition. */
const catchAllMatch = (m: RouteMatch): boolean =>
  everyPath(m.uri) &&
  !m.method &&
  !m.scheme &&
  !m.authority &&
  (m.headers?.length ?? 0) === 0 &&
  (m.queryParams?.length ?? 0) === 0;

interface Placed extends Indexed {
  readonly part: Part;
  readonly catchAll: boolean;
}

/**
 * A VirtualService's routes up to its first catch-all, where Istio stops (BuildHTTPRoutesForVirtualService
 * makes one route per match and stops after a catch-all one). A route whose catch-all match follows
 * other matches is split in two, both with its name: the matches before it stay in place.
 */
function throughCatchAll(part: Part): Placed[] {
  const out: Placed[] = [];
  for (const { route, index } of part.routes) {
    const at = route.matches.length === 0 ? 0 : route.matches.findIndex(catchAllMatch);
    if (at < 0) {
      out.push({ route, index, part, catchAll: false });
      continue;
    }
    if (at > 0) {
      out.push({ route: { ...route, matches: route.matches.slice(0, at) }, index, part, catchAll: false });
      out.push({ route: { ...route, matches: [route.matches[at]!] }, index, part, catchAll: true });
    } else out.push({ route, index, part, catchAll: true });
    break;
  }
  return out;
}

/**
 * The routes of a host's VirtualServices in turn, catch-all routes last (Istio's SortVHostRoutes).
 * With one VirtualService they are its routes as they are: the order is already Istio's.
 */
function mergedRoutes(parts: readonly Part[], hosts: readonly string[], diagnostics: Diagnostic[]): Route[] {
  if (parts.length === 1) return parts[0]!.routes.map((r) => r.route);
  const placed = parts.flatMap(throughCatchAll);
  const catchAlls = placed.filter((p) => p.catchAll);
  reportShadowedCatchAlls(catchAlls, hosts, diagnostics);
  return [...placed.filter((p) => !p.catchAll), ...catchAlls].map((p) => p.route);
}

/** A catch-all route after another VirtualService's catch-all on the same host is never used: say so. */
function reportShadowedCatchAlls(
  catchAlls: readonly Placed[],
  hosts: readonly string[],
  diagnostics: Diagnostic[],
): void {
  const [first, ...later] = catchAlls;
  if (!first) return;
  const which = hosts.length === 1 ? `host ${hosts[0]}` : `hosts ${hosts.join(', ')}`;
  const winner = nameOf(first.part.vs);
  for (const p of later.filter((l) => nameOf(l.part.vs) !== winner)) {
    diagnostics.push({
      resource: `VirtualService ${nameOf(p.part.vs)}`,
      message: `http[${p.index}] matches every request and is never used for ${which} on Gateway ${p.part.server.gateway} port ${p.part.server.server.port.number}: VirtualService ${winner} http[${first.index}] matches every request too and comes first (a gateway appends the routes of every VirtualService for a host in order, private to the gateway proxy's namespace, exported to it, then public, oldest first within each, and puts catch-all routes last, as Istio does); give one of them a match, or remove one`,
    });
  }
}
