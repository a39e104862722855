import type { Duplex } from 'node:stream';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Agent, request } from 'undici';
import { issueCertificate, type KeyPair } from '../../controllers/ca/issue.js';
import type {
  AuthorizationPolicies,
  Cluster,
  ProxyConfig,
  Route,
} from '../../proxy/config/generated/proxy-config.js';
import { WeftProxy } from '../../proxy/proxy.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from './wait.js';
import { acceptWebSocket } from './websocket.js';
import { workloadPem } from './workload-pki.js';

/** A real upstream on loopback that counts what it receives and answers as `behave` says. */
export interface Upstream {
  readonly name: string;
  readonly port: number;
  /** Requests received, in order. */
  readonly received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  behave: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  close(): Promise<void>;
}

export async function startUpstream(name: string): Promise<Upstream> {
  const received: Upstream['received'] = [];
  const upstream: { behave: Upstream['behave'] } = {
    behave: (_req, res) => {
      res.setHeader('x-upstream', name);
      res.end(`hello from ${name}\n`);
    },
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      upstream.behave(req, res, body);
    });
  });
  // A WebSocket upgrade: greeted with what the application saw of the caller, then echoed.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
    acceptWebSocket(
      req,
      socket,
      `hello from ${name} to ${String(req.headers['x-forwarded-client-cert'] ?? 'plaintext')}`,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return Object.assign(upstream, {
    name,
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

/** A mesh PKI for tests: a root and workload certificates signed the way the control plane's CA signs them. */
export class TestMeshPki {
  readonly root: KeyPair = issueCertificate({ commonName: 'weft test root', usage: 'ca', validDays: 1 });
  private readonly dir = mkdtempSync(join(tmpdir(), 'weft-pki-'));

  /** Files for `serviceAccount` in `namespace` (trust domain cluster.local), as `--cert-chain/--key/--root-cert` take them. */
  workload(
    namespace: string,
    serviceAccount: string,
    root = this.root,
  ): { certChain: string; key: string; root: string; spiffeId: string } {
    const { certChain: chain, key } = workloadPem(root, namespace, serviceAccount);
    const base = join(this.dir, `${namespace}-${serviceAccount}-${Math.random().toString(36).slice(2, 8)}`);
    writeFileSync(`${base}-chain.pem`, chain);
    writeFileSync(`${base}-key.pem`, key);
    writeFileSync(`${base}-root.pem`, this.root.certPem);
    return {
      certChain: `${base}-chain.pem`,
      key: `${base}-key.pem`,
      root: `${base}-root.pem`,
      spiffeId: `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`,
    };
  }
}

export interface TestProxy {
  readonly proxy: WeftProxy;
  readonly outbound: number;
  readonly inbound: number;
  readonly admin: number;
  readonly metrics: number;
  stop(): Promise<void>;
}

/**
 * A real Weft proxy in this process, on free loopback ports, serving `config` (standalone mode); or,
 * with `controlPlaneUrl`, announcing itself as `config.node` and serving what it pushes, once ready.
 */
export async function startTestProxy(
  config: ProxyConfig,
  options: {
    identity?: { certChain: string; key: string; root: string };
    node?: Partial<ProxyConfig['node']> & { labels?: Record<string, string> };
    controlPlaneUrl?: string;
  } = {},
): Promise<TestProxy> {
  const proxy = new WeftProxy({
    node: {
      id: config.node.id,
      role: config.node.role,
      namespace: config.node.namespace,
      workload: options.node?.workload ?? config.node.workload ?? 'test',
      labels: options.node?.labels ?? config.node.labels ?? {},
    },
    bindAddress: '127.0.0.1',
    ports: { outbound: 0, inbound: 0, admin: 0, health: 0, metrics: 0 },
    identity: options.identity ? { kind: 'files', ...options.identity } : { kind: 'none' },
    accessLog: false,
    drainMs: 2_000,
    detectionTimeoutMs: 100,
    log: pino({ level: 'silent' }),
    ...(options.controlPlaneUrl ? { controlPlaneUrl: options.controlPlaneUrl } : {}),
  });
  await proxy.start();
  if (options.controlPlaneUrl) {
    await waitUntil(`proxy ${config.node.id} to be ready`, () => ({
      done: proxy.ready().ready,
      state: proxy.ready().why,
    }));
  } else {
    const error = proxy.applySnapshot(config, 'test-1');
    if (error) throw error;
  }
  return {
    proxy,
    outbound: proxy.boundPorts.outbound,
    inbound: proxy.boundPorts.inbound,
    admin: proxy.boundPorts.admin,
    metrics: proxy.boundPorts.metrics,
    stop: () => proxy.stop(),
  };
}

export const SERVICE = 'svc.default.svc.cluster.local';
export const SERVICE_PORT = 9080;
export const NO_POLICIES: AuthorizationPolicies = { deny: [], allow: [], audit: [] };

/**
 * The sidecar of `svc`: one inbound HTTP listener on svc's port, everything routed to the local
 * application on `appPort`, under the given mTLS mode and authorization.
 */
export function inboundConfig(
  appPort: number,
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE',
  authorization: AuthorizationPolicies = NO_POLICIES,
): ProxyConfig {
  const cluster = `inbound|${SERVICE_PORT}||`;
  return {
    version: 'weft.proxy/v1',
    node: {
      id: 'svc.default',
      role: 'sidecar',
      namespace: 'default',
      workload: 'svc',
      labels: { app: 'svc', version: 'v1' },
    },
    listeners: [
      {
        name: `inbound|${SERVICE_PORT}`,
        direction: 'inbound',
        port: SERVICE_PORT,
        protocol: 'http',
        routeConfig: `inbound|${SERVICE_PORT}`,
      },
    ],
    routes: [
      {
        name: `inbound|${SERVICE_PORT}`,
        virtualHosts: [
          {
            name: `inbound|http|${SERVICE_PORT}`,
            domains: ['*'],
            routes: [route('default', { clusters: [{ cluster, weight: 100 }] })],
          },
        ],
      },
    ],
    clusters: [{ name: cluster, type: 'static', protocol: 'http' }],
    endpoints: [{ cluster, endpoints: [{ address: '127.0.0.1', port: appPort }] }],
    security: { mtls: { mode }, authorization },
  };
}

/** The port of `db`, the TCP workload of the tests. */
export const TCP_SERVICE_PORT = 9000;

/** The sidecar of `db`, a TCP workload: one inbound TCP listener on 9000 to the local app on `appPort`. */
export function tcpInboundConfig(appPort: number, mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE'): ProxyConfig {
  const cluster = `inbound|${TCP_SERVICE_PORT}||`;
  return {
    version: 'weft.proxy/v1',
    node: { id: 'db.default', role: 'sidecar', namespace: 'default', workload: 'db', labels: { app: 'db' } },
    listeners: [
      {
        name: `inbound|${TCP_SERVICE_PORT}`,
        direction: 'inbound',
        port: TCP_SERVICE_PORT,
        protocol: 'tcp',
        tcpRoute: { clusters: [{ cluster, weight: 100 }] },
      },
    ],
    routes: [],
    clusters: [{ name: cluster, type: 'static', protocol: 'tcp' }],
    endpoints: [{ cluster, endpoints: [{ address: '127.0.0.1', port: appPort }] }],
    security: { mtls: { mode }, authorization: NO_POLICIES },
  };
}

/**
 * A sidecar configuration with one outbound HTTP listener on 9080 whose only virtual host is
 * `svc`, routing with `routes`, to `clusters` (each `{ name, endpoints, ...settings }`).
 */
export function outboundConfig(
  routes: Route[],
  clusters: (Partial<Cluster> & {
    name: string;
    endpoints: { address: string; port: number; [k: string]: unknown }[];
  })[],
  extra: Partial<ProxyConfig> = {},
): ProxyConfig {
  return {
    version: 'weft.proxy/v1',
    node: {
      id: 'client.default',
      role: 'sidecar',
      namespace: 'default',
      workload: 'client',
      labels: { app: 'client', version: 'v1' },
    },
    listeners: [
      {
        name: `outbound|${SERVICE_PORT}`,
        direction: 'outbound',
        port: SERVICE_PORT,
        protocol: 'http',
        routeConfig: `outbound|${SERVICE_PORT}`,
      },
    ],
    routes: [
      {
        name: `outbound|${SERVICE_PORT}`,
        virtualHosts: [
          {
            name: 'svc',
            domains: ['svc', `svc:${SERVICE_PORT}`, SERVICE, `${SERVICE}:${SERVICE_PORT}`],
            routes,
          },
        ],
      },
    ],
    clusters: clusters.map(({ endpoints: _e, ...c }) => ({
      type: 'eds',
      protocol: 'http',
      service: { host: SERVICE, port: SERVICE_PORT },
      ...c,
    })),
    endpoints: clusters.map((c) => ({
      cluster: c.name,
      endpoints: c.endpoints,
    })),
    security: { mtls: { mode: 'PERMISSIVE' }, authorization: { deny: [], allow: [], audit: [] } },
    ...extra,
  };
}

const client = new Agent({ keepAliveTimeout: 1_000, connections: 64 });

/** A request through the proxy's outbound listener, as an application sends it (Host names the service). */
export async function send(
  outboundPort: number,
  path = '/',
  init: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const res = await request(`http://127.0.0.1:${outboundPort}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    headers: { host: init.host ?? `svc:${SERVICE_PORT}`, ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
    dispatcher: client,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** The proxy's Prometheus exposition. */
export async function scrape(metricsPort: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${metricsPort}/stats/prometheus`, { dispatcher: client });
  return res.body.text();
}

export function route(name: string, fields: Partial<Route> = {}): Route {
  return { name, matches: [], ...fields };
}
