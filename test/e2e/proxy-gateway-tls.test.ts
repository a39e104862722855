import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import {
  connect as tlsConnect,
  type ConnectionOptions,
  type PeerCertificate,
  type TLSSocket,
} from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { issueCertificate, type KeyPair } from '../../controllers/ca/issue.js';
import type { Listener, ProxyConfig, TlsSecret } from '../../proxy/config/generated/proxy-config.js';
import {
  NO_POLICIES,
  route,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type Upstream,
} from '../helpers/proxy.js';
import { waitUntil } from '../helpers/wait.js';

const APP_CLUSTER = 'outbound|9080||app.default.svc.cluster.local';
const SHOP = '*.shop.example.com';

/** A free loopback port: gateway listeners bind the port their configuration names. */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

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
