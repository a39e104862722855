import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuthorizationPolicies, ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { PodNetwork, podNetworkUnavailable, type Pod, type PodProcess } from '../helpers/netns.js';
import { ensureOriginalDstAddon } from '../helpers/original-dst-addon.js';
import { route, TestMeshPki } from '../helpers/proxy.js';
import type { Outcome, Seen } from './capture-netns/pod-app.js';
import { metricReaches as waitForMetric } from '../helpers/prometheus.js';

/**
 * Transparent capture, for real: three "pods" as network namespaces on one bridge. The client and
 * the server each get weft-init's rules (through iptables-restore) and a Weft proxy running as UID
 * 1337; the applications are plain Node programs that know nothing of the mesh. The outside pod has
 * neither: it stands for a client outside the mesh and for destinations the mesh does not know.
 */

const CLIENT_IP = '10.199.0.1';
const SERVER_IP = '10.199.0.2';
const OUTSIDE_IP = '10.199.0.3';
/** A second server, PERMISSIVE, serving HTTP on 8080 only. */
const PERMISSIVE_IP = '10.199.0.4';
const PROXY_UID = 1337;

const SERVICE = 'server.default.svc.cluster.local';
const HTTP_PORT = 8080;
const TCP_PORT = 9000;
/** Excluded from capture on both sides: -o on the client, -d on the server. */
const EXCLUDED_PORT = 9090;
/** On the outside pod: a port the mesh does not know. */
const UNKNOWN_PORT = 7070;
/** The client calls api.example.com on 8443; the mesh sends it to the outside pod's 9443. */
const TLS_PORT = 8443;
const TLS_BACKEND_PORT = 9443;

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server';
const NO_POLICIES: AuthorizationPolicies = { deny: [], allow: [], audit: [] };

const APP = 'test/e2e/capture-netns/pod-app.ts';
const TSX = [process.execPath, '--import', 'tsx'];

/** A server's sidecar: HTTP on 8080 (and TCP on 9000 if `tcp`), delivered to the app at the pod's address. */
function serverSidecar(address: string, mode: 'STRICT' | 'PERMISSIVE', tcp: boolean): ProxyConfig {
  const inbound = (port: number): string => `inbound|${port}||`;
  const ports = tcp ? [HTTP_PORT, TCP_PORT] : [HTTP_PORT];
  return {
    version: 'weft.proxy/v1',
    node: { id: 'server.default', role: 'sidecar', namespace: 'default', workload: 'server' },
    listeners: [
      {
        name: `inbound|${HTTP_PORT}`,
        direction: 'inbound',
        port: HTTP_PORT,
        protocol: 'http',
        routeConfig: `inbound|${HTTP_PORT}`,
      },
      ...(tcp
        ? [
            {
              name: `inbound|${TCP_PORT}`,
              direction: 'inbound' as const,
              port: TCP_PORT,
              protocol: 'tcp' as const,
              tcpRoute: { clusters: [{ cluster: inbound(TCP_PORT), weight: 100 }] },
            },
          ]
        : []),
    ],
    routes: [
      {
        name: `inbound|${HTTP_PORT}`,
        virtualHosts: [
          {
            name: 'inbound',
            domains: ['*'],
            routes: [route('default', { clusters: [{ cluster: inbound(HTTP_PORT), weight: 100 }] })],
          },
        ],
      },
    ],
    clusters: ports.map((port) => ({
      name: inbound(port),
      type: 'static' as const,
      protocol: port === TCP_PORT ? ('tcp' as const) : ('http' as const),
    })),
    endpoints: ports.map((port) => ({ cluster: inbound(port), endpoints: [{ address, port }] })),
    security: { mtls: { mode }, authorization: NO_POLICIES },
  };
}

/**
 * The client's sidecar: the server's HTTP service by name and by address (as Istio lists a
 * service's VIP among its domains), its TCP service by address, and api.example.com by SNI.
 */
function clientSidecar(): ProxyConfig {
  const http = `outbound|${HTTP_PORT}||${SERVICE}`;
  const tcp = `outbound|${TCP_PORT}||${SERVICE}`;
  const api = `outbound|${TLS_PORT}||api.example.com`;
  const mesh = (port: number): { address: string; port: number; identity: string; meshTls: true } => ({
    address: SERVER_IP,
    port,
    identity: SERVER_ID,
    meshTls: true,
  });
  return {
    version: 'weft.proxy/v1',
    node: { id: 'client.default', role: 'sidecar', namespace: 'default', workload: 'client' },
    listeners: [
      {
        name: `outbound|${HTTP_PORT}`,
        direction: 'outbound',
        port: HTTP_PORT,
        protocol: 'http',
        routeConfig: `outbound|${HTTP_PORT}`,
      },
      {
        name: `outbound|${TCP_PORT}|${SERVICE}`,
        direction: 'outbound',
        address: SERVER_IP,
        port: TCP_PORT,
        protocol: 'tcp',
        tcpRoute: { clusters: [{ cluster: tcp, weight: 100 }] },
      },
      {
        name: `outbound|${TLS_PORT}|api.example.com`,
        direction: 'outbound',
        port: TLS_PORT,
        protocol: 'tls',
        tls: { mode: 'PASSTHROUGH', hosts: ['api.example.com'] },
        tcpRoute: { clusters: [{ cluster: api, weight: 100 }] },
      },
    ],
    routes: [
      {
        name: `outbound|${HTTP_PORT}`,
        virtualHosts: [
          {
            name: `${SERVICE}:${HTTP_PORT}`,
            domains: [SERVICE, `${SERVICE}:${HTTP_PORT}`, SERVER_IP, `${SERVER_IP}:${HTTP_PORT}`],
            routes: [route('default', { clusters: [{ cluster: http, weight: 100 }] })],
          },
        ],
      },
    ],
    clusters: [
      {
        name: http,
        type: 'eds',
        protocol: 'http',
        service: { host: SERVICE, port: HTTP_PORT },
        tls: { mode: 'MESH' },
      },
      {
        name: tcp,
        type: 'eds',
        protocol: 'tcp',
        service: { host: SERVICE, port: TCP_PORT },
        tls: { mode: 'MESH' },
      },
      { name: api, type: 'eds', protocol: 'tls', service: { host: 'api.example.com', port: TLS_PORT } },
    ],
    endpoints: [
      { cluster: http, endpoints: [mesh(HTTP_PORT)] },
      { cluster: tcp, endpoints: [mesh(TCP_PORT)] },
      { cluster: api, endpoints: [{ address: OUTSIDE_IP, port: TLS_BACKEND_PORT }] },
    ],
    security: { mtls: { mode: 'STRICT' }, authorization: NO_POLICIES },
  };
}

/** The last line a pod-app client printed. */
function outcomeOf(output: string): Outcome {
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Outcome;
}

describe('transparent capture in network namespaces: weft-init rules, original destination, mesh mTLS', () => {
  const unavailable = podNetworkUnavailable();
  const addonSkip = unavailable ? undefined : ensureOriginalDstAddon();
  const skip = unavailable ?? addonSkip?.skip;
  const files = mkdtempSync(join(tmpdir(), 'weft-capture-'));
  let net: PodNetwork | undefined;
  let client: Pod;
  let server: Pod;
  let outside: Pod;
  let permissive: Pod;
  let serverApp: PodProcess;

  /** An unmodified client in `pod`: one HTTP(S) request, as any application makes it. */
  function get(pod: Pod, url: string, ...options: string[]): Outcome {
    return outcomeOf(net!.exec(pod, [...TSX, APP, 'get', url, ...options]));
  }

  function seenBy(outcome: Outcome): Seen {
    assert.equal(outcome.status, 200, JSON.stringify(outcome));
    return JSON.parse(outcome.body!) as Seen;
  }

  /** Waits until a metric of the proxy in `pod`, scraped from inside the pod, reaches `atLeast`. */
  async function metricReaches(
    pod: Pod,
    metric: string,
    labels: Record<string, string>,
    atLeast = 1,
  ): Promise<void> {
    const scrape = `fetch('http://127.0.0.1:15090/stats/prometheus').then((r) => r.text()).then((t) => process.stdout.write(t))`;
    await waitForMetric(
      `${pod.name} proxy`,
      () => net!.exec(pod, [process.execPath, '-e', scrape]),
      metric,
      labels,
      atLeast,
    );
  }

  /** How many connections the pod's outbound capture rule has sent to its proxy (iptables' own counter). */
  function redirectedToProxy(pod: Pod): number {
    const line = net!
      .exec(pod, ['iptables-save', '-c', '-t', 'nat'])
      .split('\n')
      .find((l) => l.includes('-A WEFT_REDIRECT '));
    return Number(/^\[(\d+):/.exec(line ?? '')?.[1] ?? NaN);
  }

  /** A file the proxy (UID 1337) can read. */
  function proxyFile(name: string, from?: string, content?: string): string {
    const file = join(files, name);
    if (from) copyFileSync(from, file);
    else writeFileSync(file, content ?? '');
    chownSync(file, PROXY_UID, PROXY_UID);
    return file;
  }

  async function startProxy(
    pod: Pod,
    config: ProxyConfig,
    serviceAccount: string,
    pki: TestMeshPki,
  ): Promise<void> {
    const identity = pki.workload('default', serviceAccount);
    const proxy = net!.start(
      pod,
      [
        ...TSX,
        'proxy/main.ts',
        '--capture',
        '--config',
        proxyFile(`${pod.name}-config.json`, undefined, JSON.stringify(config)),
        '--cert-chain',
        proxyFile(`${pod.name}-chain.pem`, identity.certChain),
        '--key',
        proxyFile(`${pod.name}-key.pem`, identity.key),
        '--root-cert',
        proxyFile(`${pod.name}-root.pem`, identity.root),
        '--instance-ip',
        pod.address,
        '--namespace',
        'default',
        '--workload',
        serviceAccount,
        '--service-account',
        serviceAccount,
        '--label',
        `app=${serviceAccount}`,
        '--drain-ms',
        '0',
      ],
      PROXY_UID,
    );
    await proxy.printed('"msg":"weft-proxy started"', `the ${pod.name} proxy to start`);
    assert.doesNotMatch(proxy.logs(), /original destinations cannot be read/, proxy.logs());
  }

  before(async () => {
    if (skip) return;
    chmodSync(files, 0o755);
    const pki = new TestMeshPki();
    net = new PodNetwork(`weft-${process.pid}`);
    client = net.addPod('client', CLIENT_IP);
    server = net.addPod('server', SERVER_IP);
    outside = net.addPod('outside', OUTSIDE_IP);
    permissive = net.addPod('permissive', PERMISSIVE_IP);

    // weft-init itself, as the init container runs it: its own rules through iptables-restore.
    net.exec(client, [...TSX, 'proxy/capture/weft-init.ts', '-o', String(EXCLUDED_PORT)]);
    net.exec(server, [...TSX, 'proxy/capture/weft-init.ts', '-d', String(EXCLUDED_PORT)]);
    net.exec(permissive, [...TSX, 'proxy/capture/weft-init.ts']);

    const tlsIdentity = pki.workload('outside', 'api');
    const outsideApp = net.start(outside, [
      ...TSX,
      APP,
      'serve',
      ...['--http', String(UNKNOWN_PORT), '--http', String(HTTP_PORT)],
      ...['--https', String(TLS_BACKEND_PORT), '--cert', tlsIdentity.certChain, '--key', tlsIdentity.key],
    ]);
    serverApp = net.start(server, [
      ...TSX,
      APP,
      'serve',
      ...['--http', String(HTTP_PORT), '--http', String(EXCLUDED_PORT), '--echo', String(TCP_PORT)],
    ]);
    const permissiveApp = net.start(permissive, [
      ...TSX,
      APP,
      'serve',
      ...['--http', String(HTTP_PORT), '--http', String(UNKNOWN_PORT)],
    ]);
    await outsideApp.printed('"listening"', 'the outside app to listen');
    await serverApp.printed('"listening"', 'the server app to listen');
    await permissiveApp.printed('"listening"', 'the permissive app to listen');
    await startProxy(server, serverSidecar(SERVER_IP, 'STRICT', true), 'server', pki);
    await startProxy(permissive, serverSidecar(PERMISSIVE_IP, 'PERMISSIVE', false), 'server', pki);
    await startProxy(client, clientSidecar(), 'client', pki);
  });

  after(async () => {
    await net?.destroy();
    rmSync(files, { recursive: true, force: true });
  });

  it('weft-init installed its chains in both meshed pods, and none outside', (t) => {
    if (skip) return t.skip(skip);
    for (const pod of [client, server]) {
      const rules = net!.exec(pod, ['iptables-save', '-t', 'nat']);
      assert.match(rules, /-A OUTPUT -p tcp -j WEFT_OUTPUT/, pod.name);
      assert.match(rules, /-A PREROUTING -p tcp -j WEFT_INBOUND/, pod.name);
    }
    assert.doesNotMatch(net!.exec(outside, ['iptables-save', '-t', 'nat']), /WEFT_/);
  });

  it('a plain request to the server’s address is captured, carried over mTLS, and delivered by the server’s proxy', async (t) => {
    if (skip) return t.skip(skip);
    const seen = seenBy(get(client, `http://${SERVER_IP}:${HTTP_PORT}/hello`));
    assert.equal(seen.url, '/hello');
    // The server proxy delivers from Istio's inbound address, and vouches for the mTLS-verified caller.
    assert.equal(seen.remoteAddress, '127.0.0.6');
    assert.equal(seen.headers['x-forwarded-client-cert'], `URI=${CLIENT_ID}`);
    assert.match(String(seen.headers['x-forwarded-for']), new RegExp(CLIENT_IP.replace(/\./g, '\\.')));
    await metricReaches(server, 'weft_requests_total', {
      reporter: 'destination',
      source_principal: CLIENT_ID,
      source_workload: 'client',
      destination_principal: SERVER_ID,
      connection_security_policy: 'mutual_tls',
      response_code: '200',
    });
    await metricReaches(client, 'weft_requests_total', {
      reporter: 'source',
      destination_service: SERVICE,
      destination_principal: SERVER_ID,
      response_code: '200',
    });
  });

  it('a request whose Host names no service is routed by the address it was sent to', (t) => {
    if (skip) return t.skip(skip);
    const seen = seenBy(
      get(client, `http://${SERVER_IP}:${HTTP_PORT}/by-address`, '--host', 'elsewhere.example'),
    );
    assert.equal(seen.headers.host, 'elsewhere.example');
    assert.equal(seen.headers['x-forwarded-client-cert'], `URI=${CLIENT_ID}`);
  });

  it('TCP to the service address is routed by its original destination, over mTLS', async (t) => {
    if (skip) return t.skip(skip);
    const outcome = outcomeOf(
      net!.exec(client, [...TSX, APP, 'tcp', SERVER_IP, String(TCP_PORT), 'ping over tcp']),
    );
    assert.equal(outcome.body, 'ping over tcp', JSON.stringify(outcome));
    await metricReaches(server, 'weft_tcp_connections_opened_total', {
      reporter: 'destination',
      source_principal: CLIENT_ID,
      connection_security_policy: 'mutual_tls',
    });
  });

  it('a TCP client that half-closes right after its message still gets the echo, and the connection then closes', (t) => {
    if (skip) return t.skip(skip);
    // The FIN crosses both sidecars and the mTLS between them to the app, whose echo and FIN come back.
    const outcome = outcomeOf(
      net!.exec(client, [...TSX, APP, 'tcp-half-close', SERVER_IP, String(TCP_PORT), 'sent, then FIN']),
    );
    assert.deepEqual(outcome, { body: 'sent, then FIN' });
  });

  it('an excluded port bypasses both proxies', (t) => {
    if (skip) return t.skip(skip);
    const seen = seenBy(get(client, `http://${SERVER_IP}:${EXCLUDED_PORT}/direct`));
    assert.equal(seen.remoteAddress, CLIENT_IP, 'the server app sees the client itself');
    assert.equal(seen.headers['x-forwarded-for'], undefined);
    assert.equal(seen.headers['x-forwarded-client-cert'], undefined);
  });

  it('STRICT refuses a plaintext client outside the mesh before the app sees anything', async (t) => {
    if (skip) return t.skip(skip);
    const outcome = get(outside, `http://${SERVER_IP}:${HTTP_PORT}/from-outside`);
    assert.equal(outcome.status, undefined, JSON.stringify(outcome));
    assert.match(String(outcome.error), /ECONNRESET|socket hang up/);
    await metricReaches(server, 'weft_proxy_connections_refused_total', { reason: 'plaintext-in-strict' });
    assert.doesNotMatch(serverApp.logs(), /from-outside/);
    // The excluded port is open to everyone: exclusion is the application's choice, not the mesh's.
    assert.equal(seenBy(get(outside, `http://${SERVER_IP}:${EXCLUDED_PORT}/`)).remoteAddress, OUTSIDE_IP);
  });

  it('PERMISSIVE routes captured plaintext by the port it was sent to, and refuses a port it does not serve', async (t) => {
    if (skip) return t.skip(skip);
    const seen = seenBy(get(outside, `http://${PERMISSIVE_IP}:${HTTP_PORT}/plain`));
    assert.equal(seen.remoteAddress, '127.0.0.6', 'delivered by the proxy');
    assert.equal(seen.headers['x-forwarded-client-cert'], undefined, 'no verified peer on plaintext');
    // The app listens on 7070 too, but the mesh does not know that port: it must not reach 8080's app either.
    const undeclared = get(outside, `http://${PERMISSIVE_IP}:${UNKNOWN_PORT}/undeclared`);
    assert.equal(undeclared.status, undefined, JSON.stringify(undeclared));
    await metricReaches(permissive, 'weft_proxy_connections_refused_total', { reason: 'no-listener' });
  });

  it('TLS is routed by the server name the client asks for', (t) => {
    if (skip) return t.skip(skip);
    // Nothing listens on the outside pod's 8443: only the listener for api.example.com reaches 9443.
    const url = `https://${OUTSIDE_IP}:${TLS_PORT}/sni`;
    assert.equal(seenBy(get(client, url, '--servername', 'api.example.com')).port, TLS_BACKEND_PORT);
    const other = get(client, url, '--servername', 'other.example.com');
    assert.equal(
      other.status,
      undefined,
      'a name no listener claims goes to its own address, where nothing listens',
    );
  });

  it('a destination the mesh does not know is captured too, and reached as the application addressed it', (t) => {
    if (skip) return t.skip(skip);
    const before = redirectedToProxy(client);
    const seen = seenBy(get(client, `http://${OUTSIDE_IP}:${UNKNOWN_PORT}/unknown`));
    assert.ok(redirectedToProxy(client) > before, 'the connection went through the outbound capture rule');
    assert.equal(seen.remoteAddress, CLIENT_IP);
    assert.equal(seen.headers['x-forwarded-for'], undefined, 'passed through as bytes, not proxied as HTTP');
  });
});
