import type {
  ClientTLSSettings,
  ConnectionPoolSettings,
  DestinationRule,
  LoadBalancerSettings,
  OutlierDetection,
  TrafficPolicy,
} from '../../crds/generated/types/destinationrule.js';
import type {
  Cluster,
  ConnectionPoolLimits,
  LoadBalancerPolicy,
  OutlierDetectionPolicy,
  UpstreamTls,
} from '../../proxy/config/generated/proxy-config.js';
import { parseDuration } from './durations.js';
import { clusterName, hostMatches } from './hosts.js';
import type {
  MeshH2UpgradePolicy,
  MeshService,
  MeshSnapshot,
  ProxyIdentity,
  ServicePort,
} from './snapshot.js';
import { defined } from './routes.js';
import { indexOf } from './snapshot-index.js';
import { exportedTo, namespaceOf, qualify, selects } from './visibility.js';

/** A DestinationRule's policies as they apply to one port of one subset: Istio's override order. */
type Policy = Pick<TrafficPolicy, 'loadBalancer' | 'connectionPool' | 'outlierDetection' | 'tls'>;

/**
 * The DestinationRule for `host` as seen by `proxy`: Istio looks in the proxy's namespace, then the
 * service's, then the root namespace; within one, an exact host beats a wildcard, and the oldest wins.
 */
export function destinationRuleFor(
  snapshot: MeshSnapshot,
  proxy: ProxyIdentity,
  service: MeshService,
): DestinationRule | undefined {
  const visible = (dr: DestinationRule): boolean =>
    exportedTo(dr.spec?.exportTo, namespaceOf(dr), proxy.namespace) &&
    (!dr.spec?.workloadSelector ||
      (namespaceOf(dr) === proxy.namespace && selects(dr.spec.workloadSelector.matchLabels, proxy.labels)));
  const index = indexOf(snapshot);
  for (const namespace of [proxy.namespace, service.namespace, snapshot.mesh.rootNamespace]) {
    const inNamespace = index.destinationRules.get(namespace);
    if (!inNamespace) continue;
    const exact = inNamespace.exact.get(service.host)?.find(visible);
    if (exact) return exact;
    const wildcard = inNamespace.wildcard.find(
      (dr) => visible(dr) && hostMatches(qualify(dr.spec.host, namespace), service.host),
    );
    if (wildcard) return wildcard;
  }
  return undefined;
}

/** Merges field by field: a later layer's loadBalancer, connectionPool, outlierDetection or tls replaces an earlier one. Pure. */
export function effectivePolicy(dr: DestinationRule | undefined, port: number, subset?: string): Policy {
  const top = dr?.spec?.trafficPolicy;
  const sub = subset ? dr?.spec?.subsets?.find((s) => s.name === subset)?.trafficPolicy : undefined;
  const atPort = (policy: TrafficPolicy | undefined): Policy | undefined =>
    policy?.portLevelSettings?.find((p) => p.port.number === port);
  const merged: Policy = {};
  for (const layer of [top, atPort(top), sub, atPort(sub)]) {
    for (const key of POLICY_FIELDS) {
      if (layer?.[key]) (merged as Record<string, unknown>)[key] = layer[key];
    }
  }
  return merged;
}

const POLICY_FIELDS = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'] as const;

function consistentHash(hash: NonNullable<LoadBalancerSettings['consistentHash']>): LoadBalancerPolicy {
  const cookie = hash.httpCookie;
  const ringSize = hash.ringHash?.minimumRingSize ?? hash.minimumRingSize;
  return defined({
    policy: 'RING_HASH' as const,
    hashOn: defined({
      header: hash.httpHeaderName,
      cookie: cookie && defined({ name: cookie.name, path: cookie.path, ttlMs: parseDuration(cookie.ttl) }),
      sourceIp: hash.useSourceIp || undefined,
      queryParameter: hash.httpQueryParameterName,
    }),
    minimumRingSize: ringSize,
  });
}

function loadBalancer(lb: LoadBalancerSettings | undefined): LoadBalancerPolicy | undefined {
  if (!lb) return undefined;
  if (lb.consistentHash) return consistentHash(lb.consistentHash);
  const simple = lb.simple === 'LEAST_CONN' ? 'LEAST_REQUEST' : lb.simple;
  return simple && simple !== 'UNSPECIFIED' ? { policy: simple } : undefined;
}

/**
 * Whether an http port's requests go to its hosts as HTTP/2: the DestinationRule's h2UpgradePolicy,
 * else the Mesh's (DEFAULT defers to it), as Istio decides. useClientProtocol keeps HTTP/1.1.
 * HTTP/2 and gRPC ports are HTTP/2 anyway, and TCP ports carry no HTTP.
 */
function http2Upgrade(
  protocol: ServicePort['protocol'],
  pool: ConnectionPoolSettings | undefined,
  meshPolicy: MeshH2UpgradePolicy | undefined,
): boolean {
  if (protocol !== 'http' || pool?.http?.useClientProtocol) return false;
  const policy = pool?.http?.h2UpgradePolicy;
  return (policy === undefined || policy === 'DEFAULT' ? meshPolicy : policy) === 'UPGRADE';
}

function connectionPool(pool: ConnectionPoolSettings, upgrade: boolean): ConnectionPoolLimits {
  return defined({
    maxConnections: pool.tcp?.maxConnections,
    connectTimeoutMs: parseDuration(pool.tcp?.connectTimeout),
    maxPendingRequests: pool.http?.http1MaxPendingRequests,
    maxRequests: pool.http?.http2MaxRequests,
    maxRequestsPerConnection: pool.http?.maxRequestsPerConnection,
    maxRetries: pool.http?.maxRetries,
    idleTimeoutMs: parseDuration(pool.http?.idleTimeout),
    tcpIdleTimeoutMs: parseDuration(pool.tcp?.idleTimeout),
    http2Upgrade: upgrade || undefined,
  });
}

function outlierDetection(od: OutlierDetection | undefined): OutlierDetectionPolicy | undefined {
  if (!od) return undefined;
  return defined({
    consecutive5xxErrors: od.consecutive5xxErrors,
    consecutiveGatewayErrors: od.consecutiveGatewayErrors,
    intervalMs: parseDuration(od.interval),
    baseEjectionTimeMs: parseDuration(od.baseEjectionTime),
    maxEjectionPercent: od.maxEjectionPercent,
  });
}

/**
 * Upstream TLS: an explicit DestinationRule mode wins (ISTIO_MUTUAL is WEFT_MUTUAL); otherwise AUTO,
 * Istio's auto mTLS: the proxy uses mesh mTLS to each endpoint that runs a proxy and plaintext to the
 * others, verifying each endpoint's own identity. Decided per endpoint, so endpoint changes never
 * change a cluster. External services get plaintext unless a DestinationRule says otherwise.
 */
function upstreamTls(tls: ClientTLSSettings | undefined, service: MeshService): UpstreamTls {
  const mode = tls?.mode === 'ISTIO_MUTUAL' ? 'WEFT_MUTUAL' : tls?.mode;
  if (mode === 'WEFT_MUTUAL')
    return defined({ mode: 'MESH', sni: service.host, subjectAltNames: tls?.subjectAltNames });
  if (mode === 'SIMPLE' || mode === 'MUTUAL') {
    const { sni, subjectAltNames, credentialName, insecureSkipVerify } = tls ?? {};
    return defined({ mode, sni: sni ?? service.host, subjectAltNames, credentialName, insecureSkipVerify });
  }
  if (mode === 'DISABLE' || service.location === 'MESH_EXTERNAL') return { mode: 'DISABLE' };
  return { mode: 'AUTO', sni: service.host };
}

/** The outbound cluster of one service port (and subset). Pure. */
export function outboundCluster(
  service: MeshService,
  port: ServicePort,
  subset: string,
  dr: DestinationRule | undefined,
  meshH2UpgradePolicy?: MeshH2UpgradePolicy,
): Cluster {
  const policy = effectivePolicy(dr, port.port, subset || undefined);
  const lb = loadBalancer(policy.loadBalancer);
  const upgrade = http2Upgrade(port.protocol, policy.connectionPool, meshH2UpgradePolicy);
  const pool = connectionPool(policy.connectionPool ?? {}, upgrade);
  const od = outlierDetection(policy.outlierDetection);
  const passthrough = lb?.policy === 'PASSTHROUGH' || service.resolution === 'NONE';
  return {
    name: clusterName('outbound', port.port, subset, service.host),
    type: passthrough
      ? 'passthrough'
      : service.resolution === 'DNS' || service.resolution === 'DNS_ROUND_ROBIN'
        ? 'dns'
        : 'eds',
    protocol: port.protocol,
    service: defined({ host: service.host, port: port.port, subset: subset || undefined }),
    ...(lb && lb.policy !== 'PASSTHROUGH' ? { loadBalancer: lb } : {}),
    ...(Object.keys(pool).length > 0 ? { connectionPool: pool } : {}),
    ...(od && Object.keys(od).length > 0 ? { outlierDetection: od } : {}),
    tls: upstreamTls(policy.tls, service),
  };
}
