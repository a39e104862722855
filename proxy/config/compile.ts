import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Authorizer } from '../security/authorization.js';
import { compileAuthorization } from '../security/authorization.js';
import { compileRouteConfiguration, type RouteTable } from '../routing/route-table.js';
import { UpstreamCluster, type ClusterDependencies } from '../upstream/cluster.js';
import { ConfigError } from './config-error.js';
import { emptyGatewayListeners, indexGatewayListener } from './gateway-listeners.js';
import type {
  ClusterLoadAssignment,
  InboundMtls,
  Listener,
  ProxyConfig,
  Route,
} from './generated/proxy-config.js';
import { compileRetryPolicy, type CompiledRetryPolicy } from '../resilience/retry-policy.js';
import { validate as generatedValidator } from './generated/validate-proxy-config.js';

/** A route without a retry policy is not retried (the translator writes the mesh default where it applies). */
const NO_RETRY = { attempts: 0 };

/**
 * proxy-config.schema.json compiled ahead of time by `npm run generate` (Ajv standalone), so the
 * proxy neither loads Ajv nor generates code at start-up; the generated module is untyped.
 */
const validateShape = generatedValidator as unknown as ValidateFunction<ProxyConfig>;

/** A listener ready to serve: its route table (HTTP) or TCP route resolved. */
export interface ActiveListener {
  readonly config: Listener;
  readonly routes: RouteTable | undefined;
}

/**
 * A configuration the proxy can execute: every reference resolved, every regex and CIDR compiled,
 * every cluster's runtime built. Request handling reads one `CompiledConfig` for its whole life,
 * so a swap (one assignment) never mixes two versions inside one request.
 */
export interface CompiledConfig {
  readonly raw: ProxyConfig;
  readonly outbound: ReadonlyMap<number, ActiveListener>;
  readonly inbound: ReadonlyMap<number, ActiveListener>;
  /** The plaintext gateway listener of each port (HTTP routed by Host, or TCP). */
  readonly gateway: ReadonlyMap<number, ActiveListener>;
  /**
   * Gateway TLS listeners (SIMPLE, MUTUAL, PASSTHROUGH) chosen by the server name a ClientHello asks
   * for, by port, then by host (lowercase, `*.suffix`, or `*`); see listenerBySni.
   */
  readonly gatewayBySni: ReadonlyMap<number, ReadonlyMap<string, ActiveListener>>;
  /** Gateway listeners by name: a terminated connection is routed by the listener that terminated it. */
  readonly gatewayByName: ReadonlyMap<string, ActiveListener>;
  /** Outbound listeners bound to a service address (`<address>:<port>`), reached through traffic capture. */
  readonly outboundByAddress: ReadonlyMap<string, ActiveListener>;
  /**
   * Outbound TLS listeners chosen by the server name a captured ClientHello asks for, by port,
   * then by host (lowercase, `*.` for a wildcard): those with `tls.hosts` and no address.
   */
  readonly outboundBySni: ReadonlyMap<number, ReadonlyMap<string, ActiveListener>>;
  readonly clusters: ReadonlyMap<string, UpstreamCluster>;
  readonly authorizer: Authorizer;
  readonly mtls: InboundMtls;
  /** Each route's retry policy, compiled; keyed by the route object of `raw`. */
  readonly retryPolicies: ReadonlyMap<Route, CompiledRetryPolicy>;
}

/** The shape check: the document matches proxy-config.schema.json. Throws ConfigError. */
export function validateProxyConfig(raw: unknown): ProxyConfig {
  if (validateShape(raw)) return raw;
  const e: ErrorObject | undefined = validateShape.errors?.[0];
  const path = (e?.instancePath ?? '')
    .replace(/^\//, '')
    .replace(/\/(\d+)/g, '[$1]')
    .replace(/\//g, '.');
  throw new ConfigError(path || '(root)', e?.message ?? 'does not match the proxy configuration schema');
}

/**
 * Compiles `config`, reusing the runtime of every cluster whose settings are unchanged (its pools,
 * breaker counters and outlier ejections carry over). Returns the clusters the new version no
 * longer uses; the caller closes them after the swap, which lets their in-flight requests finish.
 * Throws ConfigError, leaving `previous` untouched, when the configuration cannot be executed.
 */
export function compileConfig(
  config: ProxyConfig,
  previous: CompiledConfig | undefined,
  deps: ClusterDependencies,
): { compiled: CompiledConfig; retired: UpstreamCluster[] } {
  const routeTables = new Map<string, RouteTable>();
  config.routes.forEach((rc, i) => {
    try {
      routeTables.set(rc.name, compileRouteConfiguration(rc));
    } catch (err) {
      throw err instanceof ConfigError ? new ConfigError(`routes[${i}].${err.path}`, detailOf(err)) : err;
    }
  });
  checkClusterReferences(config);
  const retryPolicies = new Map<Route, CompiledRetryPolicy>();
  config.routes.forEach((rc, i) =>
    rc.virtualHosts.forEach((vh, j) =>
      vh.routes.forEach((r, k) =>
        retryPolicies.set(
          r,
          compileRetryPolicy(r.retry ?? NO_RETRY, `routes[${i}].virtualHosts[${j}].routes[${k}].retry`),
        ),
      ),
    ),
  );
  const listeners = {
    outbound: new Map<number, ActiveListener>(),
    inbound: new Map<number, ActiveListener>(),
  } as const;
  const gateway = emptyGatewayListeners();
  const outboundByAddress = new Map<string, ActiveListener>();
  const outboundBySni = new Map<number, Map<string, ActiveListener>>();
  config.listeners.forEach((l, i) => {
    const routes = l.routeConfig === undefined ? undefined : routeTables.get(l.routeConfig);
    if (l.routeConfig !== undefined && !routes)
      throw new ConfigError(`listeners[${i}].routeConfig`, `no RouteConfiguration named "${l.routeConfig}"`);
    if (l.direction === 'gateway') return indexGatewayListener(gateway, { config: l, routes }, i);
    const sniHosts = outboundSniHosts(l);
    if (sniHosts) return indexBySni(outboundBySni, sniHosts, { config: l, routes }, i);
    // Outbound TCP listeners are per service address (Istio's per-VIP listeners): several share a port.
    const byAddress = l.direction === 'outbound' && l.address !== undefined;
    const key = byAddress ? `${l.address}:${l.port}` : l.port;
    const table: Map<number | string, ActiveListener> = byAddress
      ? outboundByAddress
      : listeners[l.direction];
    if (table.has(key))
      throw new ConfigError(
        `listeners[${i}].port`,
        `two ${l.direction} listeners on ${byAddress ? key : `port ${key}`}`,
      );
    table.set(key, { config: l, routes });
  });
  let authorizer: Authorizer;
  try {
    authorizer = compileAuthorization(config.security.authorization);
  } catch (err) {
    throw err instanceof ConfigError
      ? new ConfigError(`security.authorization.${err.path}`, detailOf(err))
      : err;
  }
  const { clusters, retired } = clusterRuntimes(config, previous, deps);
  return {
    compiled: {
      raw: config,
      ...listeners,
      gateway: gateway.plain,
      gatewayBySni: gateway.bySni,
      gatewayByName: gateway.byName,
      outboundByAddress,
      outboundBySni,
      clusters,
      authorizer,
      mtls: config.security.mtls,
      retryPolicies,
    },
    retired,
  };
}

/** The server names an outbound TLS listener without an address is chosen by, if it lists any. */
function outboundSniHosts(l: Listener): readonly string[] | undefined {
  const hosts = l.direction === 'outbound' && l.protocol === 'tls' && !l.address ? l.tls?.hosts : undefined;
  return hosts && hosts.length > 0 ? hosts : undefined;
}

function indexBySni(
  byPort: Map<number, Map<string, ActiveListener>>,
  hosts: readonly string[],
  listener: ActiveListener,
  i: number,
): void {
  const port = listener.config.port;
  const table = byPort.get(port) ?? new Map<string, ActiveListener>();
  byPort.set(port, table);
  hosts.forEach((host, j) => {
    const key = host.toLowerCase();
    if (table.has(key))
      throw new ConfigError(
        `listeners[${i}].tls.hosts[${j}]`,
        `two outbound TLS listeners for ${key}:${port}`,
      );
    table.set(key, listener);
  });
}

/**
 * The TLS listener for a ClientHello's server name among a port's, as Envoy matches `server_names`:
 * the exact name, then the longest `*.suffix` that covers it, then `*` (which also takes a
 * ClientHello without one). Sidecar outbound and gateway ports both choose by it. Pure.
 */
export function listenerBySni(
  byHost: ReadonlyMap<string, ActiveListener>,
  serverName: string | undefined,
): ActiveListener | undefined {
  if (serverName) {
    const name = serverName.toLowerCase();
    const exact = byHost.get(name);
    if (exact) return exact;
    for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
      const wildcard = byHost.get(`*${name.slice(dot)}`);
      if (wildcard) return wildcard;
    }
  }
  return byHost.get('*');
}

function detailOf(err: ConfigError): string {
  return err.message.slice(err.path.length + 2);
}

function checkClusterReferences(config: ProxyConfig): void {
  const names = new Set(config.clusters.map((c) => c.name));
  const check = (cluster: string, path: string): void => {
    if (!names.has(cluster)) throw new ConfigError(path, `no cluster named "${cluster}"`);
  };
  config.routes.forEach((rc, i) =>
    rc.virtualHosts.forEach((vh, j) =>
      vh.routes.forEach((r, k) => {
        const at = `routes[${i}].virtualHosts[${j}].routes[${k}]`;
        r.clusters?.forEach((wc, m) => check(wc.cluster, `${at}.clusters[${m}].cluster`));
        if (r.mirror) check(r.mirror.cluster, `${at}.mirror.cluster`);
      }),
    ),
  );
  config.listeners.forEach((l, i) =>
    l.tcpRoute?.clusters.forEach((wc, m) =>
      check(wc.cluster, `listeners[${i}].tcpRoute.clusters[${m}].cluster`),
    ),
  );
  config.endpoints.forEach((cla, i) => check(cla.cluster, `endpoints[${i}].cluster`));
}

function clusterRuntimes(
  config: ProxyConfig,
  previous: CompiledConfig | undefined,
  deps: ClusterDependencies,
): { clusters: Map<string, UpstreamCluster>; retired: UpstreamCluster[] } {
  const assignments = new Map<string, ClusterLoadAssignment>(config.endpoints.map((e) => [e.cluster, e]));
  const clusters = new Map<string, UpstreamCluster>();
  for (const c of config.clusters) {
    const old = previous?.clusters.get(c.name);
    const runtime = old?.sameSettings(c) ? old : new UpstreamCluster(c, deps);
    clusters.set(c.name, runtime);
  }
  // Endpoints are applied only after everything compiled, so a NACKed config changes nothing.
  for (const [name, runtime] of clusters) runtime.setEndpoints(assignments.get(name)?.endpoints ?? []);
  const retired = [...(previous?.clusters.values() ?? [])].filter((c) => clusters.get(c.name) !== c);
  return { clusters, retired };
}

/** Endpoints-only update (the push protocol's `endpoints` message) on the current configuration. */
export function applyEndpoints(compiled: CompiledConfig, updates: readonly ClusterLoadAssignment[]): void {
  updates.forEach((cla, i) => {
    if (!compiled.clusters.has(cla.cluster))
      throw new ConfigError(`endpoints[${i}].cluster`, `no cluster named "${cla.cluster}"`);
  });
  for (const cla of updates) compiled.clusters.get(cla.cluster)!.setEndpoints(cla.endpoints);
}
