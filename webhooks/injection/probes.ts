import type { V1Container, V1HTTPGetAction, V1Probe } from '@kubernetes/client-node';
import { ports } from '../../cdk8s/names.js';

/** An application's original HTTP probe, which the proxy's health port forwards a rewritten one to. */
export interface AppProbe {
  readonly httpGet: V1HTTPGetAction & { readonly port: number };
  readonly timeoutSeconds?: number;
}

/** Application probes by their rewritten path, `/app-health/<container>/<livez|readyz|startupz>`. */
export type AppProbers = Record<string, AppProbe>;

const PROBES = [
  ['livenessProbe', 'livez'],
  ['readinessProbe', 'readyz'],
  ['startupProbe', 'startupz'],
] as const;

/** A probe's port as a number: numeric, or the container port of that name; undefined if neither. */
function resolvePort(container: V1Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^[0-9]+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * The containers with their HTTP probes sent through the proxy's health port, and the originals.
 * Captured inbound traffic must be mutual TLS under STRICT, which the kubelet's plaintext probe is
 * not; the health port is never captured, and the proxy calls the application from inside the pod,
 * as Istio's app-health probes do. A probe whose port cannot be resolved is left as it is: the
 * kubelet fails it the same way either way. Pure.
 */
export function rewriteHttpProbes(containers: readonly V1Container[]): {
  containers: V1Container[];
  appProbers: AppProbers;
} {
  const appProbers: AppProbers = {};
  const rewritten = containers.map((container) => {
    const out: V1Container = { ...container };
    for (const [field, suffix] of PROBES) {
      const probe: V1Probe | undefined = container[field];
      const port = probe?.httpGet && resolvePort(container, probe.httpGet.port);
      if (!probe?.httpGet || port === undefined) continue;
      const path = `/app-health/${container.name}/${suffix}`;
      appProbers[path] = {
        httpGet: { ...probe.httpGet, port },
        ...(probe.timeoutSeconds !== undefined ? { timeoutSeconds: probe.timeoutSeconds } : {}),
      };
      out[field] = { ...probe, httpGet: { path, port: ports.proxyHealth, scheme: 'HTTP' } };
    }
    return out;
  });
  return { containers: rewritten, appProbers };
}
