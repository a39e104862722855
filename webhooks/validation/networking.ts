import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import type { Gateway } from '../../crds/generated/types/gateway.js';
import type { ServiceEntry } from '../../crds/generated/types/serviceentry.js';
import type { Sidecar } from '../../crds/generated/types/sidecar.js';
import type { HTTPRoute, StringMatch, VirtualService } from '../../crds/generated/types/virtualservice.js';
import type { WorkloadEntry } from '../../crds/generated/types/workloadentry.js';
import { fqdn } from '../../controllers/translate/hosts.js';
import { Problems, type ValidationResult } from './problems.js';
import { checkCidr, checkDuration, checkHeaderName, checkHost, checkRegex } from './syntax.js';

/** What a validator may look up: the DestinationRules in the cluster, for the subset warning. */
export interface ValidationContext {
  readonly destinationRules: () => readonly DestinationRule[];
}

export const NO_CONTEXT: ValidationContext = { destinationRules: () => [] };

/** retryOn values Envoy and Istio understand, besides HTTP status codes. */
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

function checkStringMatch(p: Problems, field: string, m: StringMatch | undefined): void {
  if (m?.regex !== undefined) checkRegex(p, `${field}.regex`, m.regex);
}

function checkMatchMap(p: Problems, field: string, map: Record<string, StringMatch> | undefined): void {
  for (const [name, m] of Object.entries(map ?? {})) {
    if (checkHeaderName(p, `${field}[${name}]`, name) && name !== name.toLowerCase()) {
      p.error(`${field}[${name}]`, `header names are matched in lower case; write "${name.toLowerCase()}"`);
    }
    checkStringMatch(p, `${field}[${name}]`, m);
  }
}

function checkWeights(p: Problems, field: string, weights: readonly (number | undefined)[]): void {
  if (weights.length < 2 || weights.every((w) => w === undefined)) return;
  const total = weights.reduce<number>((sum, w) => sum + (w ?? 0), 0);
  if (total !== 100)
    p.error(field, `the weights add up to ${total}; they must add up to 100 (adjust them, e.g. 90 and 10)`);
}

function subsetsOf(ctx: ValidationContext, host: string): Set<string> {
  return new Set(
    ctx
      .destinationRules()
      .filter((dr) => dr.spec?.host && fqdn(dr.spec.host, dr.metadata?.namespace ?? 'default') === host)
      .flatMap((dr) => (dr.spec?.subsets ?? []).map((s) => s.name)),
  );
}

function checkDestination(
  p: Problems,
  field: string,
  dest: { host: string; subset?: string },
  namespace: string,
  ctx: ValidationContext,
): void {
  if (!checkHost(p, `${field}.host`, dest.host)) return;
  if (dest.subset && !subsetsOf(ctx, fqdn(dest.host, namespace)).has(dest.subset)) {
    p.warn(
      `${field}.subset`,
      `no DestinationRule for ${dest.host} defines subset "${dest.subset}"; traffic routed to it fails with 503 until one does`,
    );
  }
}

function checkMatches(p: Problems, f: string, http: HTTPRoute): void {
  (http.match ?? []).forEach((m, j) => {
    for (const key of ['uri', 'scheme', 'method', 'authority'] as const)
      checkStringMatch(p, `${f}.match[${j}].${key}`, m[key]);
    checkMatchMap(p, `${f}.match[${j}].headers`, m.headers);
    checkMatchMap(p, `${f}.match[${j}].withoutHeaders`, m.withoutHeaders);
    for (const [name, qm] of Object.entries(m.queryParams ?? {}))
      checkStringMatch(p, `${f}.match[${j}].queryParams[${name}]`, qm);
  });
}

function checkRetryOn(p: Problems, f: string, retryOn: string | undefined): void {
  for (const token of retryOn?.split(',').map((t) => t.trim()) ?? []) {
    if (!RETRY_ON.has(token) && !/^[1-5][0-9][0-9]$/.test(token)) {
      p.error(
        `${f}.retries.retryOn`,
        `"${token}" is not a retry condition; use 5xx, gateway-error, connect-failure, reset, retriable-status-codes or an HTTP status such as 503`,
      );
    }
  }
}

function checkHttpRoute(
  p: Problems,
  f: string,
  http: HTTPRoute,
  namespace: string,
  ctx: ValidationContext,
): void {
  checkMatches(p, f, http);
  (http.route ?? []).forEach((r, k) =>
    checkDestination(p, `${f}.route[${k}].destination`, r.destination, namespace, ctx),
  );
  checkWeights(
    p,
    `${f}.route`,
    (http.route ?? []).map((r) => r.weight),
  );
  checkDuration(p, `${f}.timeout`, http.timeout);
  checkDuration(p, `${f}.retries.perTryTimeout`, http.retries?.perTryTimeout, { min: 1 });
  checkRetryOn(p, f, http.retries?.retryOn);
  checkDuration(p, `${f}.fault.delay.fixedDelay`, http.fault?.delay?.fixedDelay);
  checkRegex(p, `${f}.rewrite.uriRegexRewrite.match`, http.rewrite?.uriRegexRewrite?.match);
  checkDuration(p, `${f}.corsPolicy.maxAge`, http.corsPolicy?.maxAge);
  (http.corsPolicy?.allowOrigins ?? []).forEach((o, k) =>
    checkStringMatch(p, `${f}.corsPolicy.allowOrigins[${k}]`, o),
  );
  if (http.mirror) checkDestination(p, `${f}.mirror`, http.mirror, namespace, ctx);
}

export function validateVirtualService(
  vs: VirtualService,
  ctx: ValidationContext = NO_CONTEXT,
): ValidationResult {
  const p = new Problems();
  const spec = vs.spec;
  const namespace = vs.metadata?.namespace ?? 'default';
  const meshBound = !spec.gateways || spec.gateways.length === 0 || spec.gateways.includes('mesh');
  (spec.hosts ?? []).forEach((h, i) => {
    if (h === '*' && meshBound)
      p.error(
        `spec.hosts[${i}]`,
        'the host "*" is only allowed for gateways; list the services this VirtualService routes',
      );
    else checkHost(p, `spec.hosts[${i}]`, h);
  });
  (spec.gateways ?? []).forEach((g, i) => {
    if (!/^(mesh|([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.test(g)) {
      p.error(
        `spec.gateways[${i}]`,
        `"${g}" is not a gateway reference; use <gateway name>, <namespace>/<gateway name> or mesh`,
      );
    }
  });
  (spec.http ?? []).forEach((http, i) => checkHttpRoute(p, `spec.http[${i}]`, http, namespace, ctx));
  (spec.tcp ?? []).forEach((tcp, i) => {
    tcp.route.forEach((r, k) =>
      checkDestination(p, `spec.tcp[${i}].route[${k}].destination`, r.destination, namespace, ctx),
    );
    checkWeights(
      p,
      `spec.tcp[${i}].route`,
      tcp.route.map((r) => r.weight),
    );
  });
  return p.result();
}

type ConnectionPool = NonNullable<NonNullable<DestinationRule['spec']['trafficPolicy']>['connectionPool']>;

function checkConnectionPool(p: Problems, field: string, pool: ConnectionPool | undefined): void {
  checkDuration(p, `${field}.tcp.connectTimeout`, pool?.tcp?.connectTimeout, { min: 1 });
  // 0s is Istio's way to turn the TCP idle timeout off.
  checkDuration(p, `${field}.tcp.idleTimeout`, pool?.tcp?.idleTimeout);
  checkDuration(p, `${field}.http.idleTimeout`, pool?.http?.idleTimeout, { min: 1 });
  // Admitted, as Istio would, but said plainly: the proxy does not apply these yet.
  if (pool?.tcp?.tcpKeepalive)
    p.warn(
      `${field}.tcp.tcpKeepalive`,
      'Weft does not set TCP keepalive on upstream connections yet; this setting has no effect',
    );
  if (pool?.tcp?.maxConnectionDuration)
    p.warn(
      `${field}.tcp.maxConnectionDuration`,
      'Weft does not limit the lifetime of upstream connections yet; this setting has no effect (http.idleTimeout and http.maxRequestsPerConnection do apply)',
    );
}

export function validateDestinationRule(dr: DestinationRule): ValidationResult {
  const p = new Problems();
  checkHost(p, 'spec.host', dr.spec.host);
  const policies = [
    ['spec.trafficPolicy', dr.spec.trafficPolicy] as const,
    ...(dr.spec.subsets ?? []).map((s, i) => [`spec.subsets[${i}].trafficPolicy`, s.trafficPolicy] as const),
  ];
  for (const [field, policy] of policies) {
    if (!policy) continue;
    const layers = [
      [field, policy] as const,
      ...(policy.portLevelSettings ?? []).map((pl, i) => [`${field}.portLevelSettings[${i}]`, pl] as const),
    ];
    for (const [f, layer] of layers) {
      checkConnectionPool(p, `${f}.connectionPool`, layer.connectionPool);
      checkDuration(p, `${f}.outlierDetection.interval`, layer.outlierDetection?.interval, { min: 1 });
      checkDuration(p, `${f}.outlierDetection.baseEjectionTime`, layer.outlierDetection?.baseEjectionTime, {
        min: 1,
      });
      checkDuration(
        p,
        `${f}.loadBalancer.consistentHash.httpCookie.ttl`,
        layer.loadBalancer?.consistentHash?.httpCookie?.ttl,
      );
    }
  }
  return p.result();
}

export function validateGateway(gw: Gateway): ValidationResult {
  const p = new Problems();
  gw.spec.servers.forEach((server, i) =>
    server.hosts.forEach((entry, j) => {
      const [ns, host] = entry.includes('/') ? entry.split('/', 2) : ['*', entry];
      if (ns !== '*' && ns !== '.' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns ?? '')) {
        p.error(
          `spec.servers[${i}].hosts[${j}]`,
          `"${entry}" has an invalid namespace part; use <namespace>/<host>, ./<host> or */<host>`,
        );
      } else checkHost(p, `spec.servers[${i}].hosts[${j}]`, host ?? '');
    }),
  );
  return p.result();
}

export function validateServiceEntry(se: ServiceEntry): ValidationResult {
  const p = new Problems();
  se.spec.hosts.forEach((h, i) =>
    checkHost(p, `spec.hosts[${i}]`, h, { allowShort: se.spec.location === 'MESH_INTERNAL' }),
  );
  (se.spec.addresses ?? []).forEach((a, i) => checkCidr(p, `spec.addresses[${i}]`, a));
  (se.spec.endpoints ?? []).forEach((e, i) => {
    if (se.spec.resolution === 'STATIC' && e.address && !e.address.startsWith('unix://'))
      checkCidr(p, `spec.endpoints[${i}].address`, e.address);
  });
  return p.result();
}

export function validateWorkloadEntry(we: WorkloadEntry): ValidationResult {
  const p = new Problems();
  const address = we.spec?.address;
  if (address && !address.startsWith('unix://') && !/^[0-9a-fA-F:.]+$/.test(address))
    checkHost(p, 'spec.address', address);
  else if (address && /^[0-9a-fA-F:.]+$/.test(address)) checkCidr(p, 'spec.address', address);
  return p.result();
}

export function validateSidecar(sc: Sidecar): ValidationResult {
  const p = new Problems();
  (sc.spec?.egress ?? []).forEach((egress, i) =>
    (egress.hosts ?? []).forEach((entry, j) => {
      const host = entry.split('/', 2)[1] ?? '';
      checkHost(p, `spec.egress[${i}].hosts[${j}]`, host);
    }),
  );
  return p.result();
}
