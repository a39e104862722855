import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { PushTestClient } from '../../test/helpers/push-client.js';
import { PushServer } from '../push/push-server.js';
import { snapshotFromObjects } from '../translate/snapshot-from-objects.js';
import { ControlPlane } from './control-plane.js';

/**
 * The control plane's trust bundle over the real push protocol: a real push server on loopback,
 * a client that speaks the protocol as a proxy does, and discovery's snapshot given directly.
 */
describe('control plane: trust bundle', () => {
  const reviews: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
  };
  const mesh = {
    trustDomain: 'cluster.local',
    rootNamespace: 'weft-system',
    mtlsMode: 'PERMISSIVE' as const,
  };
  const discovery = { snapshot: () => snapshotFromObjects([reviews], mesh, 'shop') };
  const log = pino({ level: 'silent' });
  const server = PushServer.createServer();
  const push: PushServer = new PushServer({
    log,
    registry: new Registry(),
    initialConfig: (node, peer) => controlPlane.configFor(node, peer),
  });
  const controlPlane = new ControlPlane(discovery, push, { log });
  const oldRoot = '-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----\n';
  const newRoot = '-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n';
  const clients: PushTestClient[] = [];

  before(async () => {
    push.attach(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    for (const c of clients) c.close();
    controlPlane.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const proxy = (app: string): PushTestClient => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = new PushTestClient(url, {
      id: `${app}.shop`,
      role: 'sidecar',
      namespace: 'shop',
      serviceAccount: app,
      labels: { app },
    });
    clients.push(c);
    c.connect();
    return c;
  };

  it('sends no bundle before the CA is known', async () => {
    const first = await proxy('reviews').snapshotWhere('it has its inbound listener', (c) =>
      c.listeners.some((l) => l.name === 'inbound|9080'),
    );
    assert.equal(first.config.security.trustBundle, undefined);
  });

  it('pushes every connected proxy when the roots change: both during a rotation, then the new one alone', async () => {
    const ratings = proxy('ratings');
    await ratings.next(0);
    controlPlane.setTrustBundle([oldRoot, newRoot]);
    for (const c of clients) {
      await c.snapshotWhere('it trusts both roots', (config) =>
        sameRoots(config.security.trustBundle, [oldRoot, newRoot]),
      );
    }
    const counts = clients.map((c) => c.messages.length);
    controlPlane.setTrustBundle([oldRoot, newRoot]);
    controlPlane.setTrustBundle([newRoot]);
    for (const c of clients) {
      const update = await c.next(counts[clients.indexOf(c)]!, 'the bundle without the old root');
      assert.equal(update.type, 'snapshot');
      assert.deepEqual(update.type === 'snapshot' && update.config.security.trustBundle, [newRoot]);
    }
  });

  it('gives a proxy that connects later the current bundle', async () => {
    const late = proxy('details');
    const first = await late.next(0);
    assert.deepEqual(first.type === 'snapshot' && first.config.security.trustBundle, [newRoot]);
  });
});

function sameRoots(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
