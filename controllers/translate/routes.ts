import type {
  Destination,
  HTTPMatchRequest,
  HTTPRoute,
  HTTPRouteDestination,
  L4MatchAttributes,
  RouteDestination,
  StringMatch,
  VirtualService,
} from '../../crds/generated/types/virtualservice.js';
import type {
  KeyMatcher,
  Route,
  RouteMatch,
  StringMatcher,
  WeightedCluster,
} from '../../proxy/config/generated/proxy-config.js';
import { parseDuration } from './durations.js';
import { clusterName } from './hosts.js';
import type { MeshService, ProxyIdentity } from './snapshot.js';
import { nameOf, namespaceOf, qualify, selects } from './visibility.js';

/** Where a set of routes is being built: which proxy, which port, and which gateway (or the mesh). */
export interface RouteContext {
  readonly proxy: ProxyIdentity;
  readonly port: number;
  /** `<namespace>/<name>` of the Gateway, or `mesh` for sidecars. */
  readonly gateway: string;
  /** Resolves a destination host to a known service, for its default port. */
  readonly lookupService: (host: string) => MeshService | undefined;
}

/** Istio's default retry policy when a route sets none. */
export const DEFAULT_RETRY = {
  attempts: 2,
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
};

const stringMatcher = (m: StringMatch | undefined, ignoreCase = false): StringMatcher | undefined =>
  m && { ...m, ...(ignoreCase ? { ignoreCase } : {}) };

const keyMatchers = (map: Record<string, StringMatch> | undefined, present = true): KeyMatcher[] =>
  Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, match]) => ({
      name: name.toLowerCase(),
      ...(Object.keys(match).length > 0 ? { match: { ...match } } : {}),
      ...(present ? {} : { present: false }),
    }));

/** Whether a match's context conditions (port, gateways, source labels and namespace) hold here. Pure. */
export function matchApplies(m: HTTPMatchRequest, vs: VirtualService, ctx: RouteContext): boolean {
  if (m.port !== undefined && m.port !== ctx.port) return false;
  if (m.sourceLabels && (ctx.gateway !== 'mesh' || !selects(m.sourceLabels, ctx.proxy.labels))) return false;
  if (m.sourceNamespace && m.sourceNamespace !== ctx.proxy.namespace) return false;
  if (m.gateways && !m.gateways.some((g) => gatewayRef(g, namespaceOf(vs)) === ctx.gateway)) return false;
  return true;
}

/** Whether an L4 (tcp) match's conditions hold for this proxy and port. Pure. */
export function l4MatchApplies(m: L4MatchAttributes, vs: VirtualService, ctx: RouteContext): boolean {
  return matchApplies(
    { port: m.port, sourceLabels: m.sourceLabels, sourceNamespace: m.sourceNamespace, gateways: m.gateways },
    vs,
    ctx,
  );
}

/** A VirtualService's gateway reference, normalised to `namespace/name` or `mesh`. Pure. */
export function gatewayRef(ref: string, vsNamespace: string): string {
  return ref === 'mesh' || ref.includes('/') ? ref : `${vsNamespace}/${ref}`;
}

function routeMatch(m: HTTPMatchRequest): RouteMatch {
  const match: RouteMatch = {};
  const uri = stringMatcher(m.uri, m.ignoreUriCase);
  if (uri) match.uri = uri;
  if (m.scheme) match.scheme = { ...m.scheme };
  if (m.method) match.method = { ...m.method };
  if (m.authority) match.authority = { ...m.authority };
  const headers = [...keyMatchers(m.headers), ...keyMatchers(m.withoutHeaders, false)];
  if (headers.length > 0) match.headers = headers;
  const query = keyMatchers(m.queryParams);
  if (query.length > 0) match.queryParams = query;
  return match;
}

/** The cluster a destination names: its port is explicit, the service's only port, or the listener's. Pure. */
export function destinationCluster(dest: Destination, vsNamespace: string, ctx: RouteContext): string {
  const host = qualify(dest.host, vsNamespace);
  const service = ctx.lookupService(host);
  const port = dest.port?.number ?? (service?.ports.length === 1 ? service.ports[0]!.port : ctx.port);
  return clusterName('outbound', port, dest.subset ?? '', host);
}

export function weightedClusters(
  routes: readonly (HTTPRouteDestination | RouteDestination)[],
  vsNamespace: string,
  ctx: RouteContext,
): WeightedCluster[] {
  // A single destination takes all traffic; several without weights share it evenly (remainder to the first).
  const explicit = routes.some((r) => r.weight !== undefined);
  const even = Math.floor(100 / Math.max(1, routes.length));
  return routes.map((r, i) => ({
    cluster: destinationCluster(r.destination, vsNamespace, ctx),
    weight:
      routes.length === 1
        ? 100
        : explicit
          ? (r.weight ?? 0)
          : even + (i === 0 ? 100 - even * routes.length : 0),
    ...('headers' in r && r.headers ? { headers: structuredClone(r.headers) } : {}),
  }));
}

/** The object without its undefined fields, so the JSON carries only what is set. Pure. */
export const defined = <T extends object>(obj: T): T =>
  Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;

const percent = (p: { value?: number } | undefined, fallback = 100): number => p?.value ?? fallback;

type RouteAction = Pick<Route, 'redirect' | 'directResponse' | 'clusters'>;

function action(http: HTTPRoute, ns: string, ctx: RouteContext): RouteAction {
  if (http.redirect) {
    const r = http.redirect;
    return {
      redirect: defined({
        uri: r.uri,
        authority: r.authority,
        port: r.port,
        scheme: r.scheme,
        code: r.redirectCode ?? 301,
      }),
    };
  }
  if (http.directResponse) {
    const body = http.directResponse.body?.string;
    return { directResponse: defined({ status: http.directResponse.status, body }) };
  }
  return { clusters: weightedClusters(http.route ?? [], ns, ctx) };
}

function rewrite(rw: HTTPRoute['rewrite']): Route['rewrite'] {
  if (!rw) return undefined;
  const regex = rw.uriRegexRewrite;
  return defined({
    uri: rw.uri,
    authority: rw.authority,
    uriRegex: regex && { match: regex.match, rewrite: regex.rewrite },
  });
}

function retry(retries: HTTPRoute['retries']): NonNullable<Route['retry']> {
  if (!retries) return { ...DEFAULT_RETRY, retryOn: [...DEFAULT_RETRY.retryOn] };
  const retryOn = retries.retryOn
    ? retries.retryOn
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : DEFAULT_RETRY.retryOn;
  return defined({
    attempts: retries.attempts ?? 0,
    perTryTimeoutMs: parseDuration(retries.perTryTimeout),
    retryOn,
  });
}

function fault(f: HTTPRoute['fault']): Route['fault'] {
  if (!f) return undefined;
  const { delay, abort } = f;
  return defined({
    delay: delay && {
      fixedDelayMs: parseDuration(delay.fixedDelay) ?? 0,
      percentage: percent(delay.percentage, delay.percent ?? 100),
    },
    abort:
      abort &&
      defined({
        httpStatus: abort.httpStatus,
        grpcStatus: abort.grpcStatus,
        percentage: percent(abort.percentage),
      }),
  });
}

function cors(c: HTTPRoute['corsPolicy']): Route['cors'] {
  if (!c) return undefined;
  return defined({
    allowOrigins: c.allowOrigins?.map((o) => ({ ...o })),
    allowMethods: c.allowMethods && [...c.allowMethods],
    allowHeaders: c.allowHeaders && [...c.allowHeaders],
    exposeHeaders: c.exposeHeaders && [...c.exposeHeaders],
    maxAgeSeconds: c.maxAge ? (parseDuration(c.maxAge) ?? 0) / 1000 : undefined,
    allowCredentials: c.allowCredentials,
  });
}

function mirror(http: HTTPRoute, ns: string, ctx: RouteContext): Route['mirror'] {
  const m = http.mirror ? { destination: http.mirror, percentage: http.mirrorPercentage } : http.mirrors?.[0];
  return m && { cluster: destinationCluster(m.destination, ns, ctx), percentage: percent(m.percentage) };
}

/** One Istio HTTPRoute as a proxy route, or undefined when none of its matches applies here. Pure. */
export function httpRoute(
  vs: VirtualService,
  http: HTTPRoute,
  index: number,
  ctx: RouteContext,
): Route | undefined {
  const ns = namespaceOf(vs);
  const applicable = (http.match ?? []).filter((m) => matchApplies(m, vs, ctx));
  if (http.match && http.match.length > 0 && applicable.length === 0) return undefined;
  return defined({
    name: `${nameOf(vs)}/${http.name ?? index}`,
    matches: applicable.map(routeMatch),
    ...action(http, ns, ctx),
    rewrite: rewrite(http.rewrite),
    timeoutMs: parseDuration(http.timeout),
    retry: retry(http.retries),
    fault: fault(http.fault),
    mirror: mirror(http, ns, ctx),
    cors: cors(http.corsPolicy),
    headers: http.headers && structuredClone(http.headers),
  });
}

/** The implicit route of a service no VirtualService covers: all traffic to its cluster, with default retries. */
export function defaultRoute(service: MeshService, port: number): Route {
  return {
    name: 'default',
    matches: [],
    clusters: [{ cluster: clusterName('outbound', port, '', service.host), weight: 100 }],
    retry: { ...DEFAULT_RETRY, retryOn: [...DEFAULT_RETRY.retryOn] },
  };
}
