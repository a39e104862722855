import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { issueCertificate } from '../../controllers/ca/issue.js';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { metricReaches, metricValue } from '../helpers/prometheus.js';
import {
  inboundConfig,
  outboundConfig,
  route,
  scrape,
  send,
  SERVICE,
  SERVICE_PORT,
  startTestProxy,
  startUpstream,
  TestMeshPki,
  type TestProxy,
  type Upstream,
} from '../helpers/proxy.js';
import { TestPushServer } from '../helpers/push-server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Root CA rotation from the data plane's side (docs/root-ca-rotation.md, phases 1 and 4): two
 * proxies whose certificates come from different roots, A and B, and a trust bundle pushed to both
 * over the real push protocol. X (the client's sidecar, certificate from A) sends to Y (the
 * service's sidecar, certificate from B) over mesh mTLS, STRICT on Y.
 */

const X_ID = 'spiffe://cluster.local/ns/default/sa/client';
const Y_ID = 'spiffe://cluster.local/ns/default/sa/svc';
const SVC_CLUSTER = `outbound|${SERVICE_PORT}||${SERVICE}`;

describe('weft-proxy trust bundle: X (root A) → mesh mTLS → Y (root B)', () => {
  const rootA = new TestMeshPki();
  const rootB = new TestMeshPki();
  const xIdentity = rootA.workload('default', 'client');
  const yIdentity = rootB.workload('default', 'svc');
  const A = rootA.root.certPem;
  const B = rootB.root.certPem;
  let app: Upstream;
  let control: TestPushServer;
  let x: TestProxy;
  let y: TestProxy;
  let yConfig: ProxyConfig;
  let xConfig: ProxyConfig;
  /** Responses the application holds until the test releases them, by path. */
  const held = new Map<string, ServerResponse>();

  const withBundle = (config: ProxyConfig, trustBundle: string[]): ProxyConfig => ({
    ...config,
    security: { ...config.security, trustBundle },
  });
  /** Pushes `bundle` to both proxies and waits until both have ACKed it. */
  async function trust(bundle: string[]): Promise<void> {
    const answers = await Promise.all([
      control.apply(xConfig.node.id, withBundle(xConfig, bundle)),
      control.apply(yConfig.node.id, withBundle(yConfig, bundle)),
    ]);
    assert.deepEqual(answers, [undefined, undefined], 'both proxies ACK the bundle');
  }
  const refusedByY = async (): Promise<number> =>
    metricValue(await scrape(y.metrics), 'weft_proxy_connections_refused_total', { reason: 'tls-handshake' });

  before(async () => {
    app = await startUpstream('svc');
    app.behave = (req, res) => {
      if (req.url?.startsWith('/slow')) return void held.set(req.url, res);
      res.end(`hello from svc to ${String(req.headers['x-forwarded-client-cert'])}\n`);
    };
    control = await TestPushServer.start();
    yConfig = inboundConfig(app.port, 'STRICT');
    control.set(yConfig.node.id, withBundle(yConfig, [A]));
    y = await startTestProxy(yConfig, { identity: yIdentity, controlPlaneUrl: control.url });
    xConfig = outboundConfig(
      [route('default/svc', { clusters: [{ cluster: SVC_CLUSTER, weight: 100 }] })],
      [
        {
          name: SVC_CLUSTER,
          tls: { mode: 'MESH' },
          endpoints: [{ address: '127.0.0.1', port: y.inbound, identity: Y_ID, meshTls: true }],
        },
      ],
    );
    control.set(xConfig.node.id, withBundle(xConfig, [A]));
    x = await startTestProxy(xConfig, { identity: xIdentity, controlPlaneUrl: control.url });
  });

  after(async () => {
    for (const res of held.values()) res.end();
    await Promise.all([x?.stop(), y?.stop()]);
    await control?.close();
    await app?.close();
  });

  it('trusting root A only, X refuses Y, whose certificate root B signed (503 UF)', async () => {
    const before = app.received.length;
    const res = await send(x.outbound, '/only-a');
    assert.equal(res.status, 503);
    assert.match(res.body, /connection failure/);
    assert.equal(app.received.length, before, 'the app must not see the request');
  });

  it('trusting A and B, pushed to the running proxies, each accepts the other and identities still count', async () => {
    await trust([A, B]);
    const res = await send(x.outbound, '/both');
    assert.equal(res.status, 200);
    assert.equal(res.body, `hello from svc to URI=${X_ID}\n`, 'Y verified X and names it to the app');
  });

  it('refuses a bundle it cannot use (NACK naming the entry) and goes on serving', async () => {
    const notARoot = issueCertificate(
      { commonName: 'not a root', usage: 'client', validDays: 1 },
      rootA.root,
    );
    const error = await control.apply(xConfig.node.id, withBundle(xConfig, [A, notARoot.certPem]));
    assert.match(error ?? '', /^security\.trustBundle\[1\]: CN=not a root is not a CA certificate/);
    const res = await send(x.outbound, '/after-nack');
    assert.equal(res.status, 200);
  });

  it('after dropping A, a request in flight finishes on its connection, and a new connection from X is refused', async () => {
    // The idle connection the requests above left behind carries this one; nothing else is open.
    const slow = send(x.outbound, '/slow');
    await waitUntil('the slow request to reach the app', () => ({
      done: held.has('/slow'),
      state: app.received.map((r) => r.url),
    }));
    const refusedBefore = await refusedByY();

    await trust([B]);
    const before = app.received.length;
    const fresh = await send(x.outbound, '/only-b');
    assert.equal(fresh.status, 503, 'Y no longer trusts the root of X’s certificate');
    assert.equal(app.received.length, before, 'the app must not see the request');
    await metricReaches(
      `Y's metrics port ${y.metrics}`,
      () => scrape(y.metrics),
      'weft_proxy_connections_refused_total',
      { reason: 'tls-handshake' },
      refusedBefore + 1,
    );

    held.get('/slow')!.end('slow answer\n');
    held.delete('/slow');
    const res = await slow;
    assert.equal(res.status, 200, 'the connection made while A was trusted stays up');
    assert.equal(res.body, 'slow answer\n');
  });
});
