import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import fc from 'fast-check';
import { issueCertificate, type KeyPair } from '../../controllers/ca/issue.js';
import { repoRoot } from '../cluster/paths.js';
import {
  assertSurvives,
  captureClientHello,
  exitMessage,
  feed,
  feedTls,
  h2Frames,
  H2_PREFACE,
  http1Templates,
  insideTlsKinds,
  mutated,
  oddHttp1Requests,
  randomBytes,
  sampleKinds,
  SentLog,
  type FuzzCase,
} from '../helpers/fuzz.js';
import {
  echoThrough,
  freePort,
  kube,
  startEcho,
  translateGateway,
  workload,
  type EchoServer,
} from '../helpers/gateway.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { startUpstream, type Upstream } from '../helpers/proxy.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * "A bad peer never crashes the proxy", at the edge: a gateway proxy process (role gateway,
 * configured by the translator from Gateway and VirtualService resources) with one port of TLS
 * servers chosen by SNI (HTTPS SIMPLE for web.example.com, TLS SIMPLE with a tcp route for
 * echo.example.com, PASSTHROUGH for *.example.com with a tls route for db.example.com), a plaintext
 * HTTP port and a plain TCP port. Every port gets 100 each of random bytes, mutated and odd HTTP/1.1,
 * an HTTP/2 preface with random or structured frames, mutated ClientHellos (some carrying the real
 * server names, so the fuzz gets past SNI selection), and real ClientHellos followed by garbage;
 * then clients that complete the handshake with a terminating server (web.example.com under ALPN
 * http/1.1 and h2, echo.example.com) misbehave inside TLS, 50 of each kind. After each group the
 * gateway must still run, be ready, and serve every server.
 */

const CASES_PER_KIND = 100;
const TLS_CASES_PER_KIND = 50;
/** Connections at once: HTTP/2 sessions closed for a connection error wait 2 to 4 s for the idle PING probe. */
const WINDOW = 128;
const WEB = 'web.example.com';
const ECHO = 'echo.example.com';
const DB = 'db.example.com';
/** Names for ClientHellos: the servers', one under the PASSTHROUGH wildcard without a route, and one outside. */
const SERVER_NAMES = [WEB, ECHO, DB, 'other.example.com', 'elsewhere.org'];

/** A TLS server of its own behind PASSTHROUGH (a database, say): it answers `ping` with `pong: ping`. */
async function startTlsUpstream(
  pair: KeyPair,
): Promise<{ port: number; accepted: { count: number }; close(): Promise<void> }> {
  const accepted = { count: 0 };
  const server = createTlsServer({ cert: pair.certPem, key: pair.keyPem }, (socket) => {
    socket.on('data', (d: Buffer) => socket.write(`pong: ${d.toString()}`));
    socket.on('error', () => socket.destroy());
  });
  server.on('connection', () => (accepted.count += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('a bad peer never crashes the gateway (TLS servers by SNI, PASSTHROUGH, plaintext HTTP and TCP ports)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fuzz-gw-'));
  const ca = issueCertificate({ commonName: 'gateway test CA', usage: 'ca', validDays: 1 });
  const server = (host: string): KeyPair =>
    issueCertificate({ commonName: host, dnsNames: [host], usage: 'server', validDays: 1 }, ca);
  const webCert = server(WEB);
  const echoCert = server(ECHO);
  const dbCert = server(DB);
  let app: Upstream;
  let echo: EchoServer;
  let db: Awaited<ReturnType<typeof startTlsUpstream>>;
  let gateway: ProxyProcess;
  const ports = { tls: 0, http: 0, tcp: 0 };
  const sent = new SentLog();

  function resources(): KubernetesObject[] {
    const tls = (name: string, protocol: string, hosts: string[], tlsSettings: object) => ({
      port: { number: 443, name, protocol, targetPort: ports.tls },
      hosts,
      tls: tlsSettings,
    });
    return [
      kube('Service', 'app', { selector: { app: 'app' }, ports: [{ name: 'http', port: 8080 }] }),
      kube('Service', 'echo', { selector: { app: 'echo' }, ports: [{ name: 'tcp-echo', port: 9000 }] }),
      kube('Service', 'db', { selector: { app: 'db' }, ports: [{ name: 'tls', port: 443 }] }),
      workload('app', 'http', app.port),
      workload('echo', 'tcp-echo', echo.port),
      workload('db', 'tls', db.port),
      kube('Gateway', 'edge', {
        selector: { app: 'gw' },
        servers: [
          tls('https-web', 'HTTPS', [WEB], { mode: 'SIMPLE', credentialName: 'web-cert' }),
          tls('tls-echo', 'TLS', [ECHO], { mode: 'SIMPLE', credentialName: 'echo-cert' }),
          { port: { number: 80, name: 'http', protocol: 'HTTP', targetPort: ports.http }, hosts: [WEB] },
          { port: { number: 31400, name: 'tcp', protocol: 'TCP', targetPort: ports.tcp }, hosts: ['*'] },
        ],
      }),
      kube('Gateway', 'pass', {
        selector: { app: 'gw' },
        servers: [tls('tls-pass', 'TLS', ['*.example.com'], { mode: 'PASSTHROUGH' })],
      }),
      kube('VirtualService', 'web', {
        hosts: [WEB],
        gateways: ['edge'],
        http: [{ route: [{ destination: { host: 'app' } }] }],
      }),
      kube('VirtualService', 'echo', {
        hosts: [ECHO],
        gateways: ['edge'],
        tcp: [{ match: [{ port: 443 }], route: [{ destination: { host: 'echo', port: { number: 9000 } } }] }],
      }),
      kube('VirtualService', 'tcp', {
        hosts: ['*'],
        gateways: ['edge'],
        tcp: [
          { match: [{ port: 31400 }], route: [{ destination: { host: 'echo', port: { number: 9000 } } }] },
        ],
      }),
      kube('VirtualService', 'db', {
        hosts: [DB],
        gateways: ['pass'],
        tls: [
          {
            match: [{ sniHosts: [DB], port: 443 }],
            route: [{ destination: { host: 'db', port: { number: 443 } } }],
          },
        ],
      }),
    ];
  }

  /** A TLS client of the gateway asking for `servername`, trusting the gateway's CA. */
  const client = (servername: string, alpn?: string): ConnectionOptions => ({
    servername,
    ca: ca.certPem,
    ...(alpn ? { ALPNProtocols: [alpn] } : {}),
  });

  before(async () => {
    app = await startUpstream('app');
    echo = await startEcho('echo');
    db = await startTlsUpstream(dbCert);
    ports.tls = await freePort();
    ports.http = await freePort();
    ports.tcp = await freePort();
    const config = translateGateway(resources());
    // What the control plane adds for a gateway in this namespace (ADR 0011).
    config.secrets = [
      { name: 'web-cert', certificateChain: webCert.certPem, privateKey: webCert.keyPem },
      { name: 'echo-cert', certificateChain: echoCert.certPem, privateKey: echoCert.keyPem },
    ];
    gateway = await startProxyProcess(['--import', 'tsx', join(repoRoot, 'proxy', 'main.ts')], dir, config, [
      '--role=gateway',
      '--label=app=gw',
    ]);
    await waitUntil('the gateway ports to serve', async () => {
      const up = await serves().then(
        () => true,
        (err: Error) => err.message,
      );
      return { done: up === true, state: up };
    });
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all([app?.close(), echo?.close(), db?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every server answers a well-behaved client: HTTPS, plaintext HTTP, TLS to TCP, PASSTHROUGH and TCP. */
  async function serves(): Promise<void> {
    const get = (request: typeof httpRequest, options: object): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', path: '/after-fuzz', agent: false, ...options }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve(`${res.statusCode} ${body}`));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(
      await get(httpsRequest, { port: ports.tls, headers: { host: WEB }, ...client(WEB, 'http/1.1') }),
      '200 hello from app\n',
    );
    assert.equal(
      await get(httpRequest, { port: ports.http, headers: { host: WEB } }),
      '200 hello from app\n',
    );
    const terminated = await echoThrough(
      tlsConnect({ host: '127.0.0.1', port: ports.tls, ...client(ECHO) }),
      Buffer.from('x'),
    );
    assert.equal(terminated.greeting, 'echo');
    const plain = await echoThrough(netConnect({ host: '127.0.0.1', port: ports.tcp }), Buffer.from('y'));
    assert.equal(plain.greeting, 'echo');
    const pong = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: ports.tls, ...client(DB) });
      socket.once('secureConnect', () => socket.write('ping'));
      socket.once('data', (d: Buffer) => {
        resolve(d.toString());
        socket.destroy();
      });
      socket.once('error', reject);
    });
    assert.equal(pong, 'pong: ping');
  }

  /** After each group: running, ready, and every server still serves. */
  async function stillServes(): Promise<void> {
    assert.equal(gateway.exitCode(), null, exitMessage(gateway, sent));
    const ready = await fetch(`http://127.0.0.1:${gateway.ports.health}/healthz/ready`);
    assert.equal(ready.status, 200, exitMessage(gateway, sent));
    await serves();
    assert.doesNotMatch(
      gateway.logs(),
      /uncaught|unhandled/i,
      'no uncaught exception or unhandled rejection',
    );
  }

  it('survives generated bytes and ClientHellos on the TLS, HTTP and TCP ports', async () => {
    const hellos = await Promise.all(
      SERVER_NAMES.map((name, i) => captureClientHello(name, i % 2 === 0 ? ['h2', 'http/1.1'] : [])),
    );
    const cases = sampleKinds(
      [
        ['random bytes', randomBytes(4096)],
        ['mutated HTTP/1.1', mutated(http1Templates(WEB))],
        ['HTTP/2 preface and random frames', randomBytes(512).map((a) => Buffer.concat([H2_PREFACE, a]))],
        ['structured HTTP/2 frames', h2Frames(WEB)],
        ['mutated TLS ClientHello', mutated(hellos)],
        [
          'ClientHello, then random bytes',
          fc
            .tuple(fc.constantFrom(...hellos), randomBytes(1024))
            .map(([hello, rest]) => Buffer.concat([hello, rest])),
        ],
        ['odd HTTP/1.1 requests', oddHttp1Requests(WEB)],
      ],
      CASES_PER_KIND,
    );
    const targets = cases.flatMap((c) => [ports.tls, ports.http, ports.tcp].map((port) => ({ ...c, port })));
    const passedThrough = db.accepted.count;
    const results = await assertSurvives(
      gateway,
      sent,
      targets,
      (t) => `:${t.port}`,
      (t) => feed(t.port, t.bytes),
      WINDOW,
    );
    const serverHellos = targets.filter((t, i) => t.port === ports.tls && results[i]!.received[0] === 0x16);
    assert.ok(serverHellos.length > 0, 'some ClientHellos got past SNI selection to a terminating server');
    assert.ok(db.accepted.count > passedThrough, 'some ClientHellos were passed through to the database');
    await stillServes();
  });

  it('survives clients that complete the handshake with a terminating server, then misbehave inside TLS', async () => {
    const cases = sampleKinds(insideTlsKinds(WEB), TLS_CASES_PER_KIND);
    const servers = [
      { servername: WEB, alpn: 'http/1.1' },
      { servername: WEB, alpn: 'h2' },
      { servername: ECHO, alpn: undefined },
    ];
    const targets: (FuzzCase & (typeof servers)[number])[] = servers.flatMap((s) =>
      cases.map((c) => ({ ...c, ...s })),
    );
    const [requests, streams] = [app.received.length, echo.accepted.count];
    const results = await assertSurvives(
      gateway,
      sent,
      targets,
      (t) => `TLS ${t.servername} ${t.alpn ?? 'no ALPN'}`,
      (t) => feedTls(ports.tls, client(t.servername, t.alpn), t.bytes),
      WINDOW,
    );
    assert.equal(
      results.filter((r) => r.secured).length,
      targets.length,
      'every client completed its handshake',
    );
    assert.ok(app.received.length > requests, 'some of the HTTP inside TLS was forwarded to the app');
    assert.ok(echo.accepted.count > streams, 'the TLS + SIMPLE streams reached the TCP upstream');
    await stillServes();
  });
});
