import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  connect as tlsConnect,
  createServer as createTlsServer,
  type ConnectionOptions,
  type PeerCertificate,
  type TLSSocket,
} from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { issueCertificate, type KeyPair } from '../../controllers/ca/issue.js';
import type { Listener, ProxyConfig, TlsSecret } from '../../proxy/config/generated/proxy-config.js';
import {
  NO_POLICIES,
  route,
  scrape,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type Upstream,
} from '../helpers/proxy.js';
import {
  echoThrough,
  freePort,
  kube,
  startEcho,
  translateGateway,
  workload,
  type EchoServer,
} from '../helpers/gateway.js';
import { metricReaches, metricValue } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';

const APP_CLUSTER = 'outbound|9080||app.default.svc.cluster.local';
const SHOP = '*.shop.example.com';

function secret(name: string, pair: KeyPair, ca?: KeyPair): TlsSecret {
  return {
    name,
    certificateChain: pair.certPem,
    privateKey: pair.keyPem,
    ...(ca ? { caCertificates: ca.certPem } : {}),
  };
}

function gatewayListener(
  port: number,
  mode: 'SIMPLE' | 'MUTUAL',
  credentialName: string,
  hosts: string[],
): Listener {
  const name = `gateway|${port}|default/gw`;
  return {
    name,
    direction: 'gateway',
    port,
    protocol: 'http',
    routeConfig: name,
    tls: { mode, credentialName, hosts },
  };
}

/** A gateway proxy: one HTTPS server per listener, each routing every host it serves to the app. */
function gatewayConfig(listeners: Listener[], secrets: TlsSecret[], appPort: number): ProxyConfig {
  return {
    version: 'weft.proxy/v1',
    node: { id: 'gw.default', role: 'gateway', namespace: 'default', labels: { app: 'gw' } },
    listeners,
    routes: listeners.map((l) => ({
      name: l.routeConfig!,
      virtualHosts: [
        {
          name: `${l.name}:hosts`,
          domains: (l.tls?.hosts ?? []).flatMap((h) => [h, `${h}:${l.port}`]),
          routes: [route('to-app', { clusters: [{ cluster: APP_CLUSTER, weight: 100 }] })],
        },
      ],
    })),
    clusters: [{ name: APP_CLUSTER, type: 'static', protocol: 'http' }],
    endpoints: [{ cluster: APP_CLUSTER, endpoints: [{ address: '127.0.0.1', port: appPort }] }],
    security: { mtls: { mode: 'PERMISSIVE' }, authorization: NO_POLICIES },
    secrets,
  };
}

interface HttpsAnswer {
  status: number;
  body: string;
  alpn: string | false | null;
  cert: PeerCertificate;
}

/** One HTTPS/1.1 request on a fresh connection, with `servername` as SNI and Host. */
function getHttps(port: number, servername: string, ca: KeyPair, client?: KeyPair): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    // https.RequestOptions leaves out the TLS options it passes on, ALPNProtocols among them.
    const options: RequestOptions & Pick<ConnectionOptions, 'ALPNProtocols'> = {
      host: '127.0.0.1',
      port,
      path: '/via-gateway',
      servername,
      headers: { host: servername },
      ca: ca.certPem,
      ALPNProtocols: ['http/1.1'],
      agent: false,
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    };
    const req = httpsRequest(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const socket = res.socket as TLSSocket;
        resolve({
          status: res.statusCode ?? 0,
          body,
          alpn: socket.alpnProtocol,
          cert: socket.getPeerCertificate(),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/2 session over TLS with ALPN h2. */
function openH2(port: number, servername: string, ca: KeyPair): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { servername, ca: ca.certPem });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function getH2(session: ClientHttp2Session, authority: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/h2', ':authority': authority });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
    stream.end();
  });
}

/** Whether a TLS handshake asking for `servername` completes (false: the gateway closed it). */
function handshakes(port: number, servername: string, ca: KeyPair): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ca: ca.certPem });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

describe('weft-proxy gateway TLS termination (Gateway servers SIMPLE and MUTUAL with credentialName)', () => {
  const ca = issueCertificate({ commonName: 'gateway test CA', usage: 'ca', validDays: 1 });
  const clientCa = issueCertificate({ commonName: 'client test CA', usage: 'ca', validDays: 1 });
  const bookinfoCert = issueCertificate(
    {
      commonName: 'bookinfo.example.com',
      dnsNames: ['bookinfo.example.com', SHOP],
      usage: 'server',
      validDays: 1,
    },
    ca,
  );
  const secureCert = issueCertificate(
    { commonName: 'secure.example.com', dnsNames: ['secure.example.com'], usage: 'server', validDays: 1 },
    ca,
  );
  const clientCert = issueCertificate({ commonName: 'partner', usage: 'client', validDays: 1 }, clientCa);
  let app: Upstream;
  let gw: TestProxy;
  let simplePort: number;
  let mutualPort: number;
  let listeners: Listener[];

  before(async () => {
    app = await startUpstream('app');
    simplePort = await freePort();
    mutualPort = await freePort();
    listeners = [
      gatewayListener(simplePort, 'SIMPLE', 'bookinfo-cert', ['bookinfo.example.com', SHOP]),
      gatewayListener(mutualPort, 'MUTUAL', 'secure-cert', ['secure.example.com']),
    ];
    gw = await startTestProxy(
      gatewayConfig(
        listeners,
        [secret('bookinfo-cert', bookinfoCert), secret('secure-cert', secureCert, clientCa)],
        app.port,
      ),
    );
    await waitUntil('the gateway ports to accept TLS', async () => {
      const up =
        (await handshakes(simplePort, 'bookinfo.example.com', ca)) &&
        (await handshakes(mutualPort, 'secure.example.com', ca));
      return { done: up, state: up };
    });
  });

  after(async () => {
    await gw?.stop();
    await app?.close();
  });

  it('serves HTTPS/1.1 with the credential of the server the SNI names, and forwards to the app', async () => {
    const before = app.received.length;
    const res = await getHttps(simplePort, 'bookinfo.example.com', ca);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello from app\n');
    assert.equal(res.alpn, 'http/1.1');
    assert.equal(res.cert.subject.CN, 'bookinfo.example.com');
    assert.equal(app.received.length, before + 1);
    assert.equal(app.received.at(-1)!.url, '/via-gateway');
    assert.equal(app.received.at(-1)!.headers['x-forwarded-proto'], 'https');
  });

  it("serves HTTP/2 (ALPN h2) for a host under the server's wildcard", async () => {
    const session = await openH2(simplePort, 'api.shop.example.com', ca);
    try {
      assert.equal(session.alpnProtocol, 'h2');
      assert.deepEqual(await getH2(session, 'api.shop.example.com'), {
        status: 200,
        body: 'hello from app\n',
      });
    } finally {
      session.close();
    }
  });

  it("closes a handshake whose SNI names none of the servers' hosts", async () => {
    assert.equal(await handshakes(simplePort, 'other.example.com', ca), false);
  });

  it('MUTUAL: refuses a client without a certificate, serves one the CA signed', async () => {
    await assert.rejects(getHttps(mutualPort, 'secure.example.com', ca));
    const res = await getHttps(mutualPort, 'secure.example.com', ca, clientCert);
    assert.equal(res.status, 200);
    assert.equal(res.cert.subject.CN, 'secure.example.com');
  });

  it('picks up a rotated certificate from a push on new connections, without dropping open ones', async () => {
    const open = await openH2(simplePort, 'bookinfo.example.com', ca);
    try {
      const rotated = issueCertificate(
        {
          commonName: 'bookinfo.example.com',
          dnsNames: ['bookinfo.example.com', SHOP],
          usage: 'server',
          validDays: 2,
        },
        ca,
      );
      const error = gw.proxy.applySnapshot(
        gatewayConfig(
          listeners,
          [secret('bookinfo-cert', rotated), secret('secure-cert', secureCert, clientCa)],
          app.port,
        ),
        'rotated',
      );
      assert.equal(error, undefined);
      const fresh = await getHttps(simplePort, 'bookinfo.example.com', ca);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.cert.serialNumber, new X509Certificate(rotated.certPem).serialNumber);
      assert.deepEqual(await getH2(open, 'bookinfo.example.com'), { status: 200, body: 'hello from app\n' });
    } finally {
      open.close();
    }
  });

  it('keeps the certificate it had when a pushed update is unusable, and stops serving when the credential goes', async () => {
    const mismatched: TlsSecret = { ...secret('bookinfo-cert', bookinfoCert), privateKey: secureCert.keyPem };
    assert.equal(
      gw.proxy.applySnapshot(
        gatewayConfig(listeners, [mismatched, secret('secure-cert', secureCert, clientCa)], app.port),
        'bad',
      ),
      undefined,
    );
    assert.equal((await getHttps(simplePort, 'bookinfo.example.com', ca)).status, 200);
    assert.equal(
      gw.proxy.applySnapshot(
        gatewayConfig(listeners, [secret('secure-cert', secureCert, clientCa)], app.port),
        'gone',
      ),
      undefined,
    );
    assert.equal(await handshakes(simplePort, 'bookinfo.example.com', ca), false);
    assert.equal((await getHttps(mutualPort, 'secure.example.com', ca, clientCert)).status, 200);
  });
});

/** A TLS server of its own (a database, say) behind a PASSTHROUGH gateway: it answers `ping` with `pong`. */
interface TlsUpstream {
  readonly port: number;
  /** TCP connections it accepted, and the server names their ClientHellos asked for. */
  readonly accepted: { count: number };
  readonly serverNames: (string | false | null)[];
  close(): Promise<void>;
}

async function startTlsUpstream(pair: KeyPair): Promise<TlsUpstream> {
  const accepted = { count: 0 };
  const serverNames: (string | false | null)[] = [];
  const server = createTlsServer({ cert: pair.certPem, key: pair.keyPem }, (socket) => {
    serverNames.push(socket.servername);
    socket.on('data', (d: Buffer) => socket.write(`pong: ${d.toString()}`));
    socket.on('error', () => socket.destroy());
  });
  server.on('connection', () => (accepted.count += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    serverNames,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A TLS connection asking for `servername`: the certificate it was shown, and the answer to `ping`. */
function tlsPing(
  port: number,
  servername: string,
  ca: KeyPair,
): Promise<{ cert: PeerCertificate; reply: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ca: ca.certPem });
    socket.once('secureConnect', () => socket.write('ping'));
    socket.once('data', (d: Buffer) => {
      resolve({ cert: socket.getPeerCertificate(), reply: d.toString() });
      socket.destroy();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before any answer for ${servername}`)));
  });
}

/**
 * Whether the gateway closes a connection asking for `servername` before any handshake completes,
 * whatever certificate it might have shown (nothing is verified, so a wrong certificate would not
 * pass for a closed connection).
 */
function closedAtHello(port: number, servername: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
    socket.once('close', () => resolve(true));
  });
}

describe('weft-proxy gateway: several TLS servers and a PASSTHROUGH server on one port (translated from Gateway and VirtualService resources)', () => {
  const gatewayCa = issueCertificate({ commonName: 'gateway test CA', usage: 'ca', validDays: 1 });
  const dbCa = issueCertificate({ commonName: 'database CA', usage: 'ca', validDays: 1 });
  const clientCa = issueCertificate({ commonName: 'client test CA', usage: 'ca', validDays: 1 });
  const server = (host: string, ca: KeyPair): KeyPair =>
    issueCertificate({ commonName: host, dnsNames: [host], usage: 'server', validDays: 1 }, ca);
  const aCert = server('a.example.com', gatewayCa);
  const bCert = server('b.example.com', gatewayCa);
  const dbCert = server('db.example.com', dbCa);
  const clientCert = issueCertificate({ commonName: 'partner', usage: 'client', validDays: 1 }, clientCa);
  let appA: Upstream;
  let appB: Upstream;
  let db: TlsUpstream;
  let gw: TestProxy;
  let port: number;

  function resources(): KubernetesObject[] {
    const https = (name: string, host: string, mode: string, credentialName: string) => ({
      port: { number: 443, name, protocol: 'HTTPS', targetPort: port },
      hosts: [host],
      tls: { mode, credentialName },
    });
    const routeTo = (host: string, service: string) => ({
      hosts: [host],
      gateways: ['web'],
      http: [{ route: [{ destination: { host: service } }] }],
    });
    return [
      kube('Service', 'app-a', { selector: { app: 'app-a' }, ports: [{ name: 'http', port: 8080 }] }),
      kube('Service', 'app-b', { selector: { app: 'app-b' }, ports: [{ name: 'http', port: 8080 }] }),
      kube('Service', 'db', { selector: { app: 'db' }, ports: [{ name: 'tls', port: 443 }] }),
      workload('app-a', 'http', appA.port),
      workload('app-b', 'http', appB.port),
      workload('db', 'tls', db.port),
      kube('Gateway', 'web', {
        selector: { app: 'gw' },
        servers: [
          https('https-a', 'a.example.com', 'SIMPLE', 'a-cert'),
          https('https-b', 'b.example.com', 'MUTUAL', 'b-cert'),
        ],
      }),
      kube('Gateway', 'pass', {
        selector: { app: 'gw' },
        servers: [
          {
            port: { number: 443, name: 'tls', protocol: 'TLS', targetPort: port },
            hosts: ['*.example.com'],
            tls: { mode: 'PASSTHROUGH' },
          },
        ],
      }),
      kube('VirtualService', 'a', routeTo('a.example.com', 'app-a')),
      kube('VirtualService', 'b', routeTo('b.example.com', 'app-b')),
      kube('VirtualService', 'db', {
        hosts: ['db.example.com'],
        gateways: ['pass'],
        tls: [
          {
            match: [{ sniHosts: ['db.example.com'], port: 443 }],
            route: [{ destination: { host: 'db', port: { number: 443 } } }],
          },
        ],
      }),
    ];
  }

  before(async () => {
    appA = await startUpstream('app-a');
    appB = await startUpstream('app-b');
    db = await startTlsUpstream(dbCert);
    port = await freePort();
    const config = translateGateway(resources());
    // What the control plane adds for a gateway in this namespace (ADR 0011).
    config.secrets = [secret('a-cert', aCert), secret('b-cert', bCert, clientCa)];
    gw = await startTestProxy(config);
    await waitUntil('the gateway port to accept TLS', async () => {
      const up = await handshakes(port, 'a.example.com', gatewayCa);
      return { done: up, state: up };
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([appA?.close(), appB?.close(), db?.close()]);
  });

  it("answers each server name with that server's own certificate and routes it to that server's VirtualService", async () => {
    const a = await getHttps(port, 'a.example.com', gatewayCa);
    assert.deepEqual([a.status, a.body], [200, 'hello from app-a\n']);
    assert.equal(a.cert.subject.CN, 'a.example.com');
    assert.equal(a.cert.subjectaltname, 'DNS:a.example.com');

    const b = await getHttps(port, 'b.example.com', gatewayCa, clientCert);
    assert.deepEqual([b.status, b.body], [200, 'hello from app-b\n']);
    assert.equal(b.cert.subject.CN, 'b.example.com');
    assert.equal(b.cert.subjectaltname, 'DNS:b.example.com');
  });

  it('keeps MUTUAL to its own server: b.example.com refuses a client without a certificate, a.example.com does not ask', async () => {
    await assert.rejects(getHttps(port, 'b.example.com', gatewayCa));
    assert.equal((await getHttps(port, 'a.example.com', gatewayCa)).status, 200);
  });

  it('routes decrypted requests by the server the SNI chose, not by Host: a Host of the other server gets 404', async () => {
    const before = appB.received.length;
    const crossed = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/crossed',
          servername: 'a.example.com',
          headers: { host: 'b.example.com' },
          ca: gatewayCa.certPem,
          agent: false,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(crossed, 404);
    assert.equal(appB.received.length, before);
  });

  it("PASSTHROUGH: the client's TLS ends at the database, which shows its own certificate and sees the SNI", async () => {
    const { cert, reply } = await tlsPing(port, 'db.example.com', dbCa);
    assert.equal(reply, 'pong: ping');
    assert.equal(cert.subject.CN, 'db.example.com');
    assert.equal(cert.issuer.CN, 'database CA');
    assert.equal(db.serverNames.at(-1), 'db.example.com');
  });

  it('closes a ClientHello whose server name no server or route has, without reaching any upstream', async () => {
    const accepted = db.accepted.count;
    const requests = appA.received.length + appB.received.length;
    // Within the PASSTHROUGH server's *.example.com, but no tls route has it.
    assert.equal(await closedAtHello(port, 'other.example.com'), true);
    assert.equal(await closedAtHello(port, 'elsewhere.org'), true);
    assert.equal(db.accepted.count, accepted);
    assert.equal(appA.received.length + appB.received.length, requests);
    assert.equal(await closedAtHello(port, 'db.example.com'), false, 'the same client reaches a known name');
  });
});

describe("weft-proxy gateway: TLS terminated, then TCP forwarded by a VirtualService tcp route (Istio's TLS + SIMPLE, translated from resources)", () => {
  const gatewayCa = issueCertificate({ commonName: 'gateway test CA', usage: 'ca', validDays: 1 });
  const server = (host: string): KeyPair =>
    issueCertificate({ commonName: host, dnsNames: [host], usage: 'server', validDays: 1 }, gatewayCa);
  const echoCert = server('echo.example.com');
  const webCert = server('web.example.com');
  const ECHO_SERVICE = 'echo.default.svc.cluster.local';
  let echo: EchoServer;
  let app: Upstream;
  let gw: TestProxy;
  let port: number;

  /**
   * One Gateway, no selector (so every gateway proxy serves it, as in Istio), with two servers on one
   * port: a TLS server terminating for echo.example.com, whose tcp route forwards to a plain TCP echo
   * server, and an HTTPS server for web.example.com routing HTTP to an app.
   */
  function resources(): KubernetesObject[] {
    const terminating = (name: string, protocol: string, host: string, credentialName: string) => ({
      port: { number: 9443, name, protocol, targetPort: port },
      hosts: [host],
      tls: { mode: 'SIMPLE', credentialName },
    });
    return [
      kube('Service', 'echo', { selector: { app: 'echo' }, ports: [{ name: 'tcp-echo', port: 9000 }] }),
      kube('Service', 'app', { selector: { app: 'app' }, ports: [{ name: 'http', port: 8080 }] }),
      workload('echo', 'tcp-echo', echo.port),
      workload('app', 'http', app.port),
      kube('Gateway', 'edge', {
        servers: [
          terminating('tls-echo', 'TLS', 'echo.example.com', 'echo-cert'),
          terminating('https-web', 'HTTPS', 'web.example.com', 'web-cert'),
        ],
      }),
      kube('VirtualService', 'echo', {
        hosts: ['echo.example.com'],
        gateways: ['edge'],
        tcp: [{ route: [{ destination: { host: 'echo', port: { number: 9000 } } }] }],
      }),
      kube('VirtualService', 'web', {
        hosts: ['web.example.com'],
        gateways: ['edge'],
        http: [{ route: [{ destination: { host: 'app' } }] }],
      }),
    ];
  }

  /** A TLS connection to the gateway asking for `servername`, offering HTTP's ALPN as browsers do. */
  const dialTls = (servername: string): TLSSocket =>
    tlsConnect({
      host: '127.0.0.1',
      port,
      servername,
      ca: gatewayCa.certPem,
      ALPNProtocols: ['h2', 'http/1.1'],
    });

  before(async () => {
    echo = await startEcho('echo');
    app = await startUpstream('app');
    port = await freePort();
    const config = translateGateway(resources());
    // What the control plane adds for a gateway in this namespace (ADR 0011).
    config.secrets = [secret('echo-cert', echoCert), secret('web-cert', webCert)];
    gw = await startTestProxy(config);
    await waitUntil('the gateway port to accept TLS', async () => {
      const up = await handshakes(port, 'echo.example.com', gatewayCa);
      return { done: up, state: up };
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([echo?.close(), app?.close()]);
  });

  it("terminates with the server's certificate, offers no HTTP ALPN, and carries the plain stream both ways to the echo server", async () => {
    const socket = dialTls('echo.example.com');
    const handshake = new Promise<{ cert: PeerCertificate; alpn: string | false | null }>((resolve) =>
      socket.once('secureConnect', () =>
        resolve({ cert: socket.getPeerCertificate(), alpn: socket.alpnProtocol }),
      ),
    );
    const accepted = echo.accepted.count;
    // 1 MiB: more than one TLS record and socket buffer each way, so back-pressure is exercised too.
    const payload = Buffer.alloc(1024 * 1024, 'weft gateway tls+tcp ');
    const { greeting, echoed } = await echoThrough(socket, payload);
    const { cert, alpn } = await handshake;
    assert.equal(cert.subject.CN, 'echo.example.com');
    assert.equal(alpn, false, 'no ALPN protocol was agreed: the stream inside is not HTTP');
    assert.equal(greeting, 'echo', 'the server-first greeting came through');
    assert.ok(echoed.equals(payload), 'every byte came back unchanged');
    assert.equal(echo.accepted.count, accepted + 1, 'the echo server saw one plain TCP connection');
  });

  it("records the connection in the gateway's TCP metrics, with the decrypted bytes", async () => {
    const metrics = (): Promise<string> => scrape(gw.metrics);
    const labels = { reporter: 'source', destination_service: ECHO_SERVICE, request_protocol: 'tcp' };
    const opened = metricValue(await metrics(), 'weft_tcp_connections_opened_total', labels);
    const closed = metricValue(await metrics(), 'weft_tcp_connections_closed_total', labels);
    const sent = metricValue(await metrics(), 'weft_tcp_sent_bytes_total', labels);
    const payload = Buffer.alloc(64 * 1024, 'counted ');
    await echoThrough(dialTls('echo.example.com'), payload);
    await metricReaches(
      'a connection opened',
      metrics,
      'weft_tcp_connections_opened_total',
      labels,
      opened + 1,
    );
    await metricReaches(
      'a connection closed',
      metrics,
      'weft_tcp_connections_closed_total',
      labels,
      closed + 1,
    );
    // Sent to the client: the greeting and the echoed payload, counted before encryption.
    await metricReaches(
      'bytes sent to the client',
      metrics,
      'weft_tcp_sent_bytes_total',
      labels,
      sent + payload.length + 'echo\n'.length,
    );
  });

  it('still serves HTTP on the same port for the HTTPS server, with HTTP ALPN', async () => {
    const res = await getHttps(port, 'web.example.com', gatewayCa);
    assert.deepEqual([res.status, res.body, res.alpn], [200, 'hello from app\n', 'http/1.1']);
    assert.equal(res.cert.subject.CN, 'web.example.com');
  });

  it('closes a ClientHello whose server name no server has, without reaching the echo server', async () => {
    const accepted = echo.accepted.count;
    assert.equal(await closedAtHello(port, 'other.example.com'), true);
    assert.equal(await closedAtHello(port, 'echo.example.org'), true);
    assert.equal(echo.accepted.count, accepted);
    assert.equal(
      await closedAtHello(port, 'echo.example.com'),
      false,
      'the same client reaches a known name',
    );
  });
});
