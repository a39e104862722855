import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import type { KubernetesObject } from '@kubernetes/client-node';
import { snapshotFromObjects } from '../../controllers/translate/snapshot-from-objects.js';
import { translate } from '../../controllers/translate/translate.js';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';

/**
 * Gateway e2e helpers: real Gateway and VirtualService objects, translated by the real translator
 * for a gateway proxy labelled `app: gw` in namespace default, whose workloads live on loopback.
 */

/** A free loopback port: gateway listeners bind the port their configuration names. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A namespaced object in default: a v1 Service, or a networking.weft.dev/v1 resource. */
export const kube = (
  kind: string,
  name: string,
  spec: object,
  labels?: Record<string, string>,
): KubernetesObject =>
  ({
    apiVersion: kind === 'Service' ? 'v1' : 'networking.weft.dev/v1',
    kind,
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
    spec,
  }) as KubernetesObject;

/** A workload outside the mesh (no proxy, plaintext) at 127.0.0.1, serving `portName` on `port`. */
export const workload = (name: string, portName: string, port: number): KubernetesObject =>
  kube('WorkloadEntry', name, {
    address: '127.0.0.1',
    labels: { app: name, 'security.weft.dev/tlsMode': 'disabled' },
    ports: { [portName]: port },
  });

/** The gateway proxy's configuration, translated from `objects`; the translator must have nothing to say. */
export function translateGateway(objects: readonly KubernetesObject[]): ProxyConfig {
  const snapshot = snapshotFromObjects(
    [...objects],
    { trustDomain: 'cluster.local', rootNamespace: 'weft-system', mtlsMode: 'PERMISSIVE' },
    'default',
  );
  const { config, diagnostics } = translate(snapshot, {
    id: 'gw.default',
    role: 'gateway',
    namespace: 'default',
    labels: { app: 'gw' },
  });
  assert.deepEqual(diagnostics, []);
  return config;
}
