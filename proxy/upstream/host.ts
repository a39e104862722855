import type { Endpoint } from '../config/generated/proxy-config.js';

/**
 * One endpoint of a cluster as the data plane tracks it. The load balancer reads
 * `activeRequests` (least request) and `weight`; the pool and the outlier detector update the
 * mutable fields. Hosts are created once per endpoint and carried across endpoint updates when
 * the address is unchanged, so their counters and ejection state survive a configuration push.
 */
export interface UpstreamHost {
  /** `<address>:<port>`: stable identity across updates. */
  readonly key: string;
  readonly endpoint: Endpoint;
  /** Load-balancing weight, ≥ 1. */
  readonly weight: number;
  /** Requests in flight to this host right now. */
  activeRequests: number;
}

export function upstreamHost(endpoint: Endpoint): UpstreamHost {
  return {
    key: `${endpoint.address}:${endpoint.port}`,
    endpoint,
    weight: Math.max(1, endpoint.weight ?? 1),
    activeRequests: 0,
  };
}
