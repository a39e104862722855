import { connect, type Socket } from 'node:net';
import type { OriginalDestination } from '../original-dst/original-dst.js';
import { DEFAULT_TCP_IDLE_TIMEOUT_MS } from '../upstream/cluster.js';
import { holdForSplice, splice } from './splice.js';

/**
 * A captured connection to a destination the mesh does not know (no listener for its address or
 * port) goes where the application sent it, unchanged: Istio's PassthroughCluster under its
 * default outbound policy ALLOW_ANY. Capture must not cut a pod off the API server, databases
 * outside the cluster or the internet. The proxy's own connection is not captured again: it runs
 * as the proxy's user.
 */
export function passthrough(downstream: Socket, dst: OriginalDestination): void {
  holdForSplice(downstream);
  const upstream = connect({ host: dst.address, port: dst.port });
  upstream.setNoDelay(true);
  const refused = (): void => void downstream.destroy();
  upstream.once('error', refused);
  // A client gone before the upstream answered leaves nothing to splice.
  downstream.once('close', () => upstream.destroy());
  upstream.once('connect', () => {
    upstream.removeListener('error', refused);
    splice(downstream, upstream, () => undefined, DEFAULT_TCP_IDLE_TIMEOUT_MS);
  });
}
