import type { Dispatcher } from 'undici';
import type { CompiledConfig } from '../config/compile.js';
import type { HeaderMap } from './headers.js';

/** Drops the shadow's response: mirroring is fire-and-forget, as in Envoy. */
const DISCARD: Dispatcher.DispatchHandler = {
  onResponseError: () => undefined,
  onResponseData: () => undefined,
  onResponseEnd: () => undefined,
};

/**
 * Sends a copy of the request to the mirror cluster, with `-shadow` appended to the authority (as
 * Envoy and Istio do) so the shadow service can tell copies from real traffic. Only bodies the
 * proxy buffered can be mirrored; the copy never delays or fails the real request.
 */
export function mirror(
  config: CompiledConfig,
  policy: { cluster: string; percentage: number },
  method: string,
  path: string,
  headers: HeaderMap,
  body: Buffer | null,
): void {
  if (Math.random() * 100 >= policy.percentage) return;
  const cluster = config.clusters.get(policy.cluster);
  const host = cluster?.pick(undefined);
  if (!cluster || !host) return;
  const authority = typeof headers.host === 'string' ? headers.host : '';
  const [name, port] = authority.split(':');
  const shadow = { ...headers, host: `${name}-shadow${port ? `:${port}` : ''}` };
  cluster.dispatcher(host).dispatch({ method, path, headers: shadow, body }, DISCARD);
}
