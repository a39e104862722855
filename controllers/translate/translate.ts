import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import type {
  Cluster,
  ClusterLoadAssignment,
  Endpoint,
  Listener,
  ProxyConfig,
  Route,
  RouteConfiguration,
  VirtualHost,
  WeightedCluster,
} from '../../proxy/config/generated/proxy-config.js';
import { destinationRuleFor, outboundCluster } from './clusters.js';
import { clusterEndpoints, serviceWorkloads } from './endpoints.js';
import { gatewayListeners } from './gateways.js';
import { clusterName, serviceDomains } from './hosts.js';
import { defaultRoute, httpRoute, l4MatchApplies, weightedClusters, type RouteContext } from './routes.js';
import { authorizationFor, inboundMtls } from './security.js';
import {
  spiffeId,
  type MeshService,
  type MeshSnapshot,
  type ProxyIdentity,
  type ServicePort,
  type Workload,
} from './snapshot.js';
import { boundVirtualServices, virtualServiceForHost, type Diagnostic } from './virtual-services.js';
import { indexOf } from './snapshot-index.js';
import { namespaceOf, selects, visibleServices } from './visibility.js';

export const PROXY_CONFIG_VERSION = 'weft.proxy/v1';

export interface Translation {
  readonly config: ProxyConfig;
  readonly diagnostics: readonly Diagnostic[];
}

const isHttp = (p: ServicePort): boolean =>
  p.protocol === 'http' || p.protocol === 'http2' || p.protocol === 'grpc';

/** The VirtualService that routes `host` for sidecars in the proxy's namespace (see virtualServiceForHost). */
function meshVirtualService(
  snapshot: MeshSnapshot,
  proxy: ProxyIdentity,
  host: string,
  diagnostics: Diagnostic[],
): VirtualService | undefined {
  const index = indexOf(snapshot);
  const bound = index.boundByHost(`mesh|${proxy.namespace}`, () =>
    boundVirtualServices(index.virtualServicesOldestFirst, proxy, 'mesh'),
  );
  return virtualServiceForHost(bound, host, diagnostics);
}

/** Routes of a VirtualService for one context, or the service's default route. */
function routesFor(
  snapshot: MeshSnapshot,
  ctx: RouteContext,
  service: MeshService,
  diagnostics: Diagnostic[],
): Route[] {
  const vs = meshVirtualService(snapshot, ctx.proxy, service.host, diagnostics);
  const routes = (vs?.spec?.http ?? []).flatMap((http, i) => httpRoute(vs!, http, i, ctx) ?? []);
  return routes.length > 0 ? routes : [defaultRoute(service, ctx.port)];
}

/**
 * Where a TCP connection to a service goes: the first `tcp` route of its VirtualService whose match
 * applies (port, source labels and namespace), or the service itself.
 */
function tcpClusters(snapshot: MeshSnapshot, ctx: RouteContext, service: MeshService): WeightedCluster[] {
  const vs = meshVirtualService(snapshot, ctx.proxy, service.host, []);
  const route = vs?.spec?.tcp?.find(
    (tcp) => !tcp.match || tcp.match.length === 0 || tcp.match.some((m) => l4MatchApplies(m, vs, ctx)),
  );
  if (!vs || !route) return [{ cluster: clusterName('outbound', ctx.port, '', service.host), weight: 100 }];
  return weightedClusters(route.route, namespaceOf(vs), ctx);
}

/** A service lookup by host, for resolving route destinations. */
function lookupIn(services: readonly MeshService[]): RouteContext['lookupService'] {
  const byHost = new Map(services.map((s) => [s.host, s]));
  return (host) => byHost.get(host);
}

/** Outbound clusters: one per service port, and one per DestinationRule subset. Independent of endpoints. */
function outboundClusters(
  snapshot: MeshSnapshot,
  proxy: ProxyIdentity,
  services: readonly MeshService[],
): Cluster[] {
  const clusters: Cluster[] = [];
  for (const service of services) {
    const dr = destinationRuleFor(snapshot, proxy, service);
    for (const port of service.ports) {
      for (const subset of ['', ...(dr?.spec?.subsets ?? []).map((s) => s.name)]) {
        clusters.push(outboundCluster(service, port, subset, dr, snapshot.mesh.h2UpgradePolicy));
      }
    }
  }
  return clusters;
}

/** Outbound listeners and route configurations of a sidecar: one HTTP listener per port, one TCP listener per service port. */
function outboundListeners(
  snapshot: MeshSnapshot,
  proxy: ProxyIdentity,
  services: readonly MeshService[],
  diagnostics: Diagnostic[],
) {
  const lookupService = lookupIn(services);
  const listeners: Listener[] = [];
  const routes: RouteConfiguration[] = [];
  const httpPorts = new Map<number, VirtualHost[]>();
  for (const service of services) {
    for (const port of service.ports) {
      if (isHttp(port)) {
        const ctx: RouteContext = { proxy, port: port.port, gateway: 'mesh', lookupService };
        const vhosts = httpPorts.get(port.port) ?? [];
        vhosts.push({
          name: `${service.host}:${port.port}`,
          domains: serviceDomains(service.host, port.port, proxy.namespace),
          routes: routesFor(snapshot, ctx, service, diagnostics),
        });
        httpPorts.set(port.port, vhosts);
        continue;
      }
      listeners.push({
        name: `outbound|${port.port}|${service.host}`,
        direction: 'outbound',
        port: port.port,
        protocol: port.protocol,
        ...(service.address ? { address: service.address } : {}),
        tcpRoute: {
          clusters: tcpClusters(
            snapshot,
            { proxy, port: port.port, gateway: 'mesh', lookupService },
            service,
          ),
        },
      });
    }
  }
  for (const [port, virtualHosts] of [...httpPorts].sort(([a], [b]) => a - b)) {
    const name = `outbound|${port}`;
    listeners.push({ name, direction: 'outbound', port, protocol: 'http', routeConfig: name });
    routes.push({ name, virtualHosts });
  }
  return { listeners, routes };
}

/** Inbound: one listener per port the proxy's workload serves for a Service that selects it. */
function inbound(snapshot: MeshSnapshot, proxy: ProxyIdentity) {
  const listeners: Listener[] = [];
  const routes: RouteConfiguration[] = [];
  const clusters: Cluster[] = [];
  const seen = new Set<number>();
  const own = snapshot.services.filter(
    (s) => s.namespace === proxy.namespace && s.selector && selects(s.selector, proxy.labels),
  );
  for (const service of own.sort((a, b) => a.host.localeCompare(b.host))) {
    for (const port of service.ports) {
      const target = typeof port.targetPort === 'number' ? port.targetPort : port.port;
      if (seen.has(target)) continue;
      seen.add(target);
      const name = `inbound|${target}`;
      const cluster = clusterName('inbound', target, '', '');
      clusters.push({ name: cluster, type: 'static', protocol: port.protocol, tls: { mode: 'DISABLE' } });
      if (isHttp(port)) {
        listeners.push({
          name,
          direction: 'inbound',
          port: target,
          protocol: port.protocol,
          routeConfig: name,
        });
        routes.push({
          name,
          virtualHosts: [
            {
              name: 'inbound',
              domains: ['*'],
              routes: [{ name: 'inbound', matches: [], clusters: [{ cluster, weight: 100 }] }],
            },
          ],
        });
      } else {
        listeners.push({
          name,
          direction: 'inbound',
          port: target,
          protocol: port.protocol,
          tcpRoute: { clusters: [{ cluster, weight: 100 }] },
        });
      }
    }
  }
  return { listeners, routes, clusters };
}

const byName = <T extends { name: string }>(a: T, b: T): number => a.name.localeCompare(b.name);

/** A proxy's configuration without its endpoints: everything an endpoint change leaves alone. */
export interface ResourceTranslation {
  readonly config: Omit<ProxyConfig, 'endpoints'>;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Listeners, routes, clusters and security of one proxy. Reads no workload (endpoint) data, so the
 * control plane re-runs it only when services or Weft resources change. Pure and deterministic.
 */
export function translateResources(snapshot: MeshSnapshot, proxy: ProxyIdentity): ResourceTranslation {
  const diagnostics: Diagnostic[] = [];
  const index = indexOf(snapshot);
  // The outbound side is shared by every proxy with the same scope; it dominates the cost at scale.
  const shared = index.memoise(`outbound|${index.scopeKey(proxy)}`, () => {
    const found: Diagnostic[] = [];
    const visible = visibleServices(snapshot, proxy);
    const outboundSide =
      proxy.role === 'sidecar'
        ? outboundListeners(snapshot, proxy, visible, found)
        : { listeners: [], routes: [] };
    return {
      services: visible,
      clusters: outboundClusters(snapshot, proxy, visible),
      out: outboundSide,
      diagnostics: found,
    };
  });
  const { services, clusters, out } = shared;
  diagnostics.push(...shared.diagnostics);
  const own =
    proxy.role === 'sidecar' ? inbound(snapshot, proxy) : { listeners: [], routes: [], clusters: [] };
  const gw =
    proxy.role === 'gateway'
      ? gatewayListeners(snapshot, proxy, lookupIn(services), diagnostics)
      : { listeners: [], routes: [] };
  const config: Omit<ProxyConfig, 'endpoints'> = {
    version: PROXY_CONFIG_VERSION,
    node: {
      id: proxy.id,
      role: proxy.role,
      namespace: proxy.namespace,
      ...(proxy.workload ? { workload: proxy.workload } : {}),
      ...(proxy.serviceAccount ? { serviceAccount: proxy.serviceAccount } : {}),
      labels: Object.fromEntries(Object.entries(proxy.labels).sort(([a], [b]) => a.localeCompare(b))),
      identity: spiffeId(snapshot.mesh.trustDomain, proxy.namespace, proxy.serviceAccount),
    },
    listeners: [...out.listeners, ...own.listeners, ...gw.listeners].sort(byName),
    routes: [...out.routes, ...own.routes, ...gw.routes].sort(byName),
    clusters: [...clusters, ...own.clusters].sort(byName),
    security: {
      mtls: inboundMtls(snapshot, proxy),
      ...(snapshot.mesh.pathNormalization ? { pathNormalization: snapshot.mesh.pathNormalization } : {}),
      ...(snapshot.mesh.trustBundle?.length ? { trustBundle: [...snapshot.mesh.trustBundle] } : {}),
      authorization: authorizationFor(snapshot, proxy),
    },
  };
  return { config, diagnostics: dedupe(diagnostics) };
}

/**
 * The endpoints of every cluster: the incremental half of translation, re-run alone when only
 * Pods, EndpointSlices or WorkloadEntries change. Pure.
 */
/**
 * An inbound cluster's one endpoint: the application beside the proxy, at the workload's own
 * address when the proxy announced it (as Istio does since 1.10, so an application bound to its pod
 * or VM address is reachable), else on loopback.
 */
function inboundEndpoints(proxy: ProxyIdentity, cluster: Cluster): Endpoint[] {
  return [{ address: proxy.address ?? '127.0.0.1', port: Number(cluster.name.split('|')[1]) }];
}

export function translateEndpoints(
  snapshot: MeshSnapshot,
  proxy: ProxyIdentity,
  clusters: readonly Cluster[],
): ClusterLoadAssignment[] {
  const services = indexOf(snapshot).servicesByHost;
  const workloadsOf = new Map<string, Workload[]>();
  const workloads = (service: MeshService): Workload[] => {
    let found = workloadsOf.get(service.host);
    if (!found)
      workloadsOf.set(
        service.host,
        (found = serviceWorkloads(
          service,
          indexOf(snapshot).workloadsByNamespace.get(service.namespace) ?? [],
        )),
      );
    return found;
  };
  // Endpoints depend on the proxy only through its scope (which DestinationRule it sees): shared.
  const index = indexOf(snapshot);
  const scope = index.scopeKey(proxy);
  return clusters.map((cluster) => ({
    cluster: cluster.name,
    endpoints:
      cluster.type === 'static'
        ? inboundEndpoints(proxy, cluster)
        : index.memoise(`endpoints|${scope}|${cluster.name}`, () => endpointsOf(cluster)),
  }));

  function endpointsOf(cluster: Cluster): Endpoint[] {
    const target = cluster.service ?? {};
    const service = target.host ? services.get(target.host) : undefined;
    const port = service?.ports.find((p) => p.port === target.port);
    if (!service || !port) return [];
    const subset = target.subset;
    if (!subset) return clusterEndpoints(snapshot.mesh.trustDomain, workloads(service), port, undefined);
    const found = destinationRuleFor(snapshot, proxy, service)?.spec?.subsets?.find((s) => s.name === subset);
    // A subset no DestinationRule defines (any more) has no endpoints; one without labels has them all.
    return found ? clusterEndpoints(snapshot.mesh.trustDomain, workloads(service), port, found.labels) : [];
  }
}

/**
 * Translates the mesh, as one proxy sees it, into that proxy's configuration. Pure and
 * deterministic: the same snapshot and proxy give byte-identical JSON.
 */
export function translate(snapshot: MeshSnapshot, proxy: ProxyIdentity): Translation {
  const { config, diagnostics } = translateResources(snapshot, proxy);
  return {
    config: { ...config, endpoints: translateEndpoints(snapshot, proxy, config.clusters) },
    diagnostics,
  };
}

function dedupe(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.resource}\n${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
