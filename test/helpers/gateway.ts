import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
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

/**
 * A TCP server of its own on loopback: greets each connection with `<name>\n` first (as server-first
 * protocols do), then echoes every byte back.
 */
export interface EchoServer {
  readonly name: string;
  readonly port: number;
  readonly accepted: { count: number };
  close(): Promise<void>;
}

export async function startEcho(name: string): Promise<EchoServer> {
  const accepted = { count: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted.count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * Over `socket`, just opened through the gateway (plain TCP, or TLS the gateway terminates), reads an
 * echo server's greeting, sends `payload` and reads it all back: which echo server answered, and
 * what came back.
 */
export function echoThrough(socket: Socket, payload: Buffer): Promise<{ greeting: string; echoed: Buffer }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let greeting: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (greeting === undefined) {
        const newline = received.indexOf('\n');
        if (newline < 0) return;
        greeting = received.subarray(0, newline).toString();
        received = received.subarray(newline + 1);
        socket.write(payload);
      }
      if (received.length < payload.length) return;
      socket.destroy();
      resolve({ greeting, echoed: received });
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${received.length} bytes`)));
  });
}
