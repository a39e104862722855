import assert from 'node:assert/strict';
import {
  connect as netConnect,
  createServer as createNetServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { AuthorizationPolicies, ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
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
  TCP_SERVICE_PORT,
  tcpInboundConfig,
  TestMeshPki,
  type TestProxy,
  type Upstream,
} from '../helpers/proxy.js';
import { metricReaches as waitForMetric, metricValue } from '../helpers/prometheus.js';
import { acceptKey, openWebSocket } from '../helpers/websocket.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const SVC_ID = 'spiffe://cluster.local/ns/default/sa/svc';
const OTHER_ID = 'spiffe://cluster.local/ns/default/sa/other';
const SVC_CLUSTER = `outbound|${SERVICE_PORT}||${SERVICE}`;

type Identity = ReturnType<TestMeshPki['workload']>;

/** The sidecar of `svc`: one inbound HTTP listener on 9080 routing everything to the local app. */
const serverSidecar = inboundConfig;

/** The sidecar of `client`: svc's cluster is mesh mTLS to B's inbound port, expecting `expectedIdentity`. */
function clientSidecar(serverInboundPort: number, expectedIdentity: string): ProxyConfig {
  return outboundConfig(
    [route('default/svc', { clusters: [{ cluster: SVC_CLUSTER, weight: 100 }] })],
    [
      {
        name: SVC_CLUSTER,
        tls: { mode: 'MESH' },
        endpoints: [
          { address: '127.0.0.1', port: serverInboundPort, identity: expectedIdentity, meshTls: true },
        ],
      },
    ],
  );
}

/** Waits until the metric of the proxy whose metrics port is `port` reaches at least `atLeast`. */
const metricReaches = (
  port: number,
  metric: string,
  labels: Record<string, string>,
  atLeast: number,
): Promise<void> => waitForMetric(`metrics port ${port}`, () => scrape(port), metric, labels, atLeast);

/** What a raw plaintext exchange came to: bytes received before the connection closed, and any error. */
interface RawOutcome {
  data: string;
  error: string | undefined;
}

/** Writes `bytes` to a fresh connection and collects everything received until the peer closes it. */
function rawExchange(port: number, bytes: string): Promise<RawOutcome> {
  return exchangeOn(netConnect({ host: '127.0.0.1', port }), 'connect', bytes);
}

/** Writes `bytes` once `socket` is ready, and collects what comes back until it closes. */
function exchangeOn(socket: Socket, ready: 'connect' | 'secureConnect', bytes: string): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let data = '';
    let error: string | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (data += c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ data, error }));
    socket.on(ready, () => socket.write(bytes));
  });
}

const PLAIN_GET = `GET /plain HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\nX-Forwarded-Client-Cert: URI=spiffe://forged\r\nConnection: close\r\n\r\n`;

describe('weft-proxy security: client → proxy A → mesh mTLS → proxy B → app', () => {
  const pki = new TestMeshPki();
  const foreignPki = new TestMeshPki();
  const clientIdentity = pki.workload('default', 'client');
  const svcIdentity = pki.workload('default', 'svc');
  const otherIdentity = pki.workload('default', 'other');
  /** A certificate for the client's identity, but signed by a root B does not trust. */
  const foreignIdentity: Identity = {
    ...foreignPki.workload('default', 'client'),
    root: clientIdentity.root,
  };
  const stops: (() => Promise<void>)[] = [];

  let app: Upstream;

  async function proxy(config: ProxyConfig, identity?: Identity): Promise<TestProxy> {
    const p = await startTestProxy(config, identity ? { identity } : {});
    stops.push(() => p.stop());
    return p;
  }

  before(async () => {
    app = await startUpstream('svc');
    stops.push(() => app.close());
  });

  after(async () => {
    await Promise.all(stops.map((stop) => stop()));
  });

  describe('mesh mTLS between the two proxies', () => {
    let b: TestProxy;
    let a: TestProxy;

    before(async () => {
      b = await proxy(serverSidecar(app.port, 'STRICT'), svcIdentity);
      a = await proxy(clientSidecar(b.inbound, SVC_ID), clientIdentity);
    });

    it('carries a request to the app, and both proxies report it with Istio labels', async () => {
      const before = app.received.length;
      const res = await send(a.outbound, '/hello', {
        headers: { 'x-test': 'mtls', 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/x/sa/forged' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello from svc\n');
      assert.equal(app.received.length, before + 1);
      const seen = app.received.at(-1)!;
      assert.equal(seen.url, '/hello');
      assert.equal(seen.headers['x-test'], 'mtls');
      assert.equal(seen.headers['x-weft-peer'], undefined, 'the peer-metadata header is stripped by B');
      assert.equal(
        seen.headers['x-forwarded-client-cert'],
        `URI=${CLIENT_ID}`,
        'B replaces whatever the caller claimed with the verified peer identity',
      );

      await metricReaches(
        b.metrics,
        'weft_requests_total',
        {
          reporter: 'destination',
          source_principal: CLIENT_ID,
          source_workload: 'client',
          source_workload_namespace: 'default',
          source_app: 'client',
          destination_principal: SVC_ID,
          destination_workload: 'svc',
          connection_security_policy: 'mutual_tls',
          response_code: '200',
        },
        1,
      );
      await metricReaches(
        a.metrics,
        'weft_requests_total',
        {
          reporter: 'source',
          source_workload: 'client',
          source_principal: CLIENT_ID,
          destination_service: SERVICE,
          destination_principal: SVC_ID,
          response_code: '200',
        },
        1,
      );
    });

    it('tunnels a WebSocket through both proxies over mTLS, both ways, with the caller identity', async () => {
      const ws = await openWebSocket(a.outbound, `svc:${SERVICE_PORT}`, '/chat');
      try {
        assert.equal(ws.status, 101, JSON.stringify(ws.headers));
        assert.equal(ws.headers['sec-websocket-accept'], acceptKey(ws.key));
        assert.equal(await ws.next(), `hello from svc to URI=${CLIENT_ID}`);
        ws.send('ping');
        assert.equal(await ws.next(), 'echo: ping');
        ws.send('pong');
        assert.equal(await ws.next(), 'echo: pong');
      } finally {
        ws.close();
      }
      assert.equal(app.received.at(-1)?.url, '/chat');
      await metricReaches(
        b.metrics,
        'weft_requests_total',
        { reporter: 'destination', response_code: '101', connection_security_policy: 'mutual_tls' },
        1,
      );
      await metricReaches(a.metrics, 'weft_requests_total', { reporter: 'source', response_code: '101' }, 1);
      // An upgrade goes through the same filter chain: a Host with no route is answered 404.
      const lost = await openWebSocket(a.outbound, `nowhere:${SERVICE_PORT}`, '/chat');
      lost.close();
      assert.equal(lost.status, 404);
    });

    it('refuses to send a request to an endpoint whose certificate names another identity (503 UF)', async () => {
      const wrong = await proxy(clientSidecar(b.inbound, OTHER_ID), clientIdentity);
      const before = app.received.length;
      const res = await send(wrong.outbound, '/secure-naming');
      assert.equal(res.status, 503);
      assert.match(res.body, /connection failure/);
      assert.equal(app.received.length, before, 'the app must not see the request');
      await metricReaches(
        wrong.metrics,
        'weft_requests_total',
        { reporter: 'source', response_code: '503', response_flags: 'UF' },
        1,
      );
    });

    it('B refuses a peer whose certificate comes from a root it does not trust', async () => {
      const refusedBefore = metricValue(await scrape(b.metrics), 'weft_proxy_connections_refused_total', {
        reason: 'tls-handshake',
      });
      const foreign = await proxy(clientSidecar(b.inbound, SVC_ID), foreignIdentity);
      const before = app.received.length;
      const res = await send(foreign.outbound, '/foreign');
      assert.equal(res.status, 503);
      assert.equal(app.received.length, before, 'the app must not see the request');
      await metricReaches(
        b.metrics,
        'weft_proxy_connections_refused_total',
        { reason: 'tls-handshake' },
        refusedBefore + 1,
      );
    });

    it('B refuses a TLS client that presents no certificate at all', async () => {
      const before = app.received.length;
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: b.inbound,
        ca: readFileSync(clientIdentity.root),
        servername: `outbound_.${SERVICE_PORT}_._.${SERVICE}`,
        ALPNProtocols: ['http/1.1'],
        checkServerIdentity: () => undefined,
      });
      const outcome = await exchangeOn(socket, 'secureConnect', PLAIN_GET);
      assert.equal(outcome.data, '', `no response expected, got ${JSON.stringify(outcome.data)}`);
      assert.equal(app.received.length, before);
    });
  });

  describe('PeerAuthentication modes on B', () => {
    it('STRICT refuses plaintext: the connection closes without any response', async () => {
      const b = await proxy(serverSidecar(app.port, 'STRICT'), svcIdentity);
      const before = app.received.length;
      const outcome = await rawExchange(b.inbound, PLAIN_GET);
      assert.equal(outcome.data, '', `no response expected, got ${JSON.stringify(outcome.data)}`);
      assert.equal(app.received.length, before);
      await metricReaches(
        b.metrics,
        'weft_proxy_connections_refused_total',
        { reason: 'plaintext-in-strict' },
        1,
      );
    });

    it('PERMISSIVE accepts both plaintext and mesh mTLS, and says which in its metrics', async () => {
      const b = await proxy(serverSidecar(app.port, 'PERMISSIVE'), svcIdentity);
      const a = await proxy(clientSidecar(b.inbound, SVC_ID), clientIdentity);

      const plain = await rawExchange(b.inbound, PLAIN_GET);
      assert.match(plain.data, /^HTTP\/1\.1 200 /);
      assert.match(plain.data, /hello from svc/);
      assert.equal(app.received.at(-1)?.url, '/plain');
      assert.equal(
        app.received.at(-1)?.headers['x-forwarded-client-cert'],
        undefined,
        'no client cert claims on plaintext',
      );

      const res = await send(a.outbound, '/mtls');
      assert.equal(res.status, 200);
      assert.equal(app.received.at(-1)?.url, '/mtls');

      await metricReaches(
        b.metrics,
        'weft_requests_total',
        { reporter: 'destination', connection_security_policy: 'none', source_principal: 'unknown' },
        1,
      );
      await metricReaches(
        b.metrics,
        'weft_requests_total',
        { reporter: 'destination', connection_security_policy: 'mutual_tls', source_principal: CLIENT_ID },
        1,
      );
    });

    it('DISABLE accepts plaintext, and a mesh mTLS client cannot connect (503 UF)', async () => {
      const b = await proxy(serverSidecar(app.port, 'DISABLE'), svcIdentity);
      const plain = await rawExchange(b.inbound, PLAIN_GET);
      assert.match(plain.data, /^HTTP\/1\.1 200 /);

      const a = await proxy(clientSidecar(b.inbound, SVC_ID), clientIdentity);
      const before = app.received.length;
      const res = await send(a.outbound, '/mtls-to-disable');
      assert.equal(res.status, 503);
      assert.equal(app.received.length, before);
      await metricReaches(
        a.metrics,
        'weft_requests_total',
        { reporter: 'source', response_code: '503', response_flags: 'UF' },
        1,
      );
    });
  });

  describe('AuthorizationPolicy on B', () => {
    let b: TestProxy;
    let a: TestProxy;
    let other: TestProxy;

    before(async () => {
      b = await proxy(
        serverSidecar(app.port, 'PERMISSIVE', {
          deny: [{ name: 'default/deny-admin', rules: [{ to: [{ paths: { values: ['/admin*'] } }] }] }],
          allow: [
            {
              name: 'default/allow-client-get',
              rules: [
                {
                  from: [{ principals: { values: ['cluster.local/ns/default/sa/client'] } }],
                  to: [{ methods: { values: ['GET'] } }],
                },
              ],
            },
          ],
          audit: [],
        }),
        svcIdentity,
      );
      a = await proxy(clientSidecar(b.inbound, SVC_ID), clientIdentity);
      other = await proxy(clientSidecar(b.inbound, SVC_ID), otherIdentity);
    });

    it('allows GET from the allowed principal', async () => {
      const before = app.received.length;
      const res = await send(a.outbound, '/items');
      assert.equal(res.status, 200);
      assert.equal(app.received.length, before + 1);
    });

    it('denies POST from the allowed principal with 403 "RBAC: access denied"', async () => {
      const before = app.received.length;
      const res = await send(a.outbound, '/items', { method: 'POST', body: 'x' });
      assert.equal(res.status, 403);
      assert.equal(res.body, 'RBAC: access denied');
      assert.equal(app.received.length, before);
      await metricReaches(
        b.metrics,
        'weft_requests_total',
        {
          reporter: 'destination',
          source_principal: CLIENT_ID,
          response_code: '403',
          response_flags: 'RBAC',
        },
        1,
      );
    });

    /** Refused with 403 before the application sees anything. */
    async function assertDenied(port: number, path: string): Promise<void> {
      const before = app.received.length;
      const res = await send(port, path);
      assert.equal(res.status, 403);
      assert.equal(res.body, 'RBAC: access denied');
      assert.equal(app.received.length, before);
    }

    it('DENY on /admin* wins over the ALLOW', () => assertDenied(a.outbound, '/admin/users'));

    it('denies a client running as another identity', () => assertDenied(other.outbound, '/items'));

    it('denies plaintext under PERMISSIVE: it has no principal to match', () =>
      assertDenied(b.inbound, '/items'));
  });

  describe('path normalisation on B before authorization', () => {
    const DENY_ADMIN: AuthorizationPolicies = {
      deny: [{ name: 'default/deny-admin', rules: [{ to: [{ paths: { values: ['/admin*'] } }] }] }],
      allow: [],
      audit: [],
    };
    let base: TestProxy;
    let merging: TestProxy;
    let a: TestProxy;

    before(async () => {
      base = await proxy(serverSidecar(app.port, 'PERMISSIVE', DENY_ADMIN), svcIdentity);
      const merge = serverSidecar(app.port, 'PERMISSIVE', DENY_ADMIN);
      merge.security.pathNormalization = 'MERGE_SLASHES';
      merging = await proxy(merge, svcIdentity);
      a = await proxy(clientSidecar(base.inbound, SVC_ID), clientIdentity);
    });

    /**
     * The request target exactly as written (an HTTP client library would resolve the dots first),
     * to `port`; the status and whether the application saw a request, and which path.
     */
    async function sendRaw(
      port: number,
      target: string,
    ): Promise<{ status: number; appSaw: string | undefined }> {
      const before = app.received.length;
      const { data } = await rawExchange(
        port,
        `GET ${target} HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\nConnection: close\r\n\r\n`,
      );
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
      return { status, appSaw: app.received.length > before ? app.received.at(-1)!.url : undefined };
    }

    it('denies /admin under every spelling BASE normalises', async () => {
      for (const target of [
        '/admin',
        '/public/../admin',
        '/%61dmin',
        '/./admin',
        '/public/%2E%2E/admin',
        '/public\\..\\admin',
      ]) {
        assert.deepEqual(await sendRaw(base.inbound, target), { status: 403, appSaw: undefined }, target);
      }
    });

    it('denies /public/../admin sent through the client proxy over mTLS: B normalises what A forwards', async () => {
      assert.deepEqual(await sendRaw(a.outbound, '/public/../admin'), { status: 403, appSaw: undefined });
    });

    it('forwards the normalised path to the application', async () => {
      assert.deepEqual(await sendRaw(base.inbound, '/public/./x/../%69tems?q=/../admin'), {
        status: 200,
        appSaw: '/public/items?q=/../admin',
      });
    });

    it('merges slashes only under MERGE_SLASHES, which closes //admin', async () => {
      assert.deepEqual(await sendRaw(base.inbound, '//admin'), { status: 200, appSaw: '//admin' }, 'BASE');
      assert.deepEqual(await sendRaw(merging.inbound, '//admin'), { status: 403, appSaw: undefined });
      assert.deepEqual(await sendRaw(merging.inbound, '/.//admin'), {
        status: 403,
        appSaw: undefined,
      });
    });

    it('answers 400 to %00 and to an invalid percent-encoding, without reaching the application', async () => {
      for (const target of ['/admin%00', '/%zzadmin', '/%%36%31dmin']) {
        assert.deepEqual(await sendRaw(base.inbound, target), { status: 400, appSaw: undefined }, target);
      }
    });
  });

  describe('TCP passthrough on B to a server-first application', () => {
    const BANNER = '220 db.default ready\r\n';
    let db: Server;
    let b: TestProxy;

    before(async () => {
      // Speaks first, as SMTP and MySQL do, then echoes.
      db = createNetServer((s) => {
        s.on('error', () => s.destroy());
        s.write(BANNER);
        s.pipe(s);
      });
      await new Promise<void>((r) => db.listen(0, '127.0.0.1', () => r()));
      stops.push(
        () =>
          new Promise<void>((r) => {
            db.close(() => r());
          }),
      );
      b = await proxy(tcpInboundConfig((db.address() as AddressInfo).port, 'PERMISSIVE'), svcIdentity);
    });

    /** Reads from a socket until `expected` bytes have arrived. */
    function readUntil(socket: NodeJS.ReadableStream, length: number): Promise<string> {
      return new Promise((resolve, reject) => {
        let got = '';
        const onData = (c: Buffer | string): void => {
          got += c.toString();
          if (got.length < length) return;
          socket.removeListener('data', onData);
          resolve(got);
        };
        socket.on('data', onData);
        socket.once('error', reject);
        socket.once('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
      });
    }

    it('a plaintext client receives the banner without speaking first, and bytes echo both ways', async () => {
      const before = metricValue(await scrape(b.metrics), 'weft_tcp_connections_opened_total', {
        reporter: 'destination',
      });
      const socket = netConnect({ host: '127.0.0.1', port: b.inbound });
      socket.setEncoding('latin1');
      try {
        assert.equal(await readUntil(socket, BANNER.length), BANNER);
        const payload = 'x'.repeat(200_000) + '\n';
        const echoed = readUntil(socket, payload.length);
        socket.write(payload);
        assert.equal((await echoed).length, payload.length);
      } finally {
        socket.destroy();
      }
      await metricReaches(
        b.metrics,
        'weft_tcp_connections_opened_total',
        { reporter: 'destination', connection_security_policy: 'none' },
        before + 1,
      );
    });

    it('over mesh mTLS (ALPN weft-tcp), the peer is known and reported', async () => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: b.inbound,
        cert: readFileSync(clientIdentity.certChain),
        key: readFileSync(clientIdentity.key),
        ca: readFileSync(clientIdentity.root),
        servername: `outbound_.${TCP_SERVICE_PORT}_._.db.default.svc.cluster.local`,
        ALPNProtocols: ['weft-tcp'],
        checkServerIdentity: () => undefined,
      });
      socket.setEncoding('latin1');
      try {
        assert.equal(await readUntil(socket, BANNER.length), BANNER);
        const echoed = readUntil(socket, 5);
        socket.write('ping\n');
        assert.equal(await echoed, 'ping\n');
      } finally {
        socket.destroy();
      }
      await metricReaches(
        b.metrics,
        'weft_tcp_connections_opened_total',
        { reporter: 'destination', connection_security_policy: 'mutual_tls', source_principal: CLIENT_ID },
        1,
      );
    });
  });
});
