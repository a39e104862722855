import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import { compileConfig, validateProxyConfig } from '../../proxy/config/compile.js';
import type { Listener, ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { compileRouteConfiguration } from '../../proxy/routing/route-table.js';
import { snapshotFromObjects } from './snapshot-from-objects.js';
import type { ProxyIdentity } from './snapshot.js';
import { translate, type Translation } from './translate.js';
import { virtualServicesForGateway } from './virtual-services.js';
import { nameOf } from './visibility.js';

const mesh = { trustDomain: 'cluster.local', rootNamespace: 'weft-system', mtlsMode: 'PERMISSIVE' as const };
const gatewayProxy: ProxyIdentity = {
  id: 'weft-ingressgateway.edge',
  role: 'gateway',
  namespace: 'edge',
  serviceAccount: 'weft-ingressgateway',
  labels: { app: 'weft-ingressgateway' },
};

/** Services the routes below send to, in namespace edge. */
const SERVICES = `
apiVersion: v1
kind: Service
metadata: { name: app-a }
spec: { selector: { app: a }, ports: [{ name: http, port: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: app-b }
spec: { selector: { app: b }, ports: [{ name: http, port: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: db }
spec: { selector: { app: db }, ports: [{ name: tls, port: 443 }] }
---
apiVersion: v1
kind: Service
metadata: { name: db-canary }
spec: { selector: { app: db-canary }, ports: [{ name: tls, port: 443 }] }
`;

const SERVER_A = `
    - port: { number: 443, name: https-a, protocol: HTTPS }
      hosts: [a.example.com]
      tls: { mode: SIMPLE, credentialName: a-cert }`;
const SERVER_B = `
    - port: { number: 443, name: https-b, protocol: HTTPS }
      hosts: [b.example.com]
      tls: { mode: MUTUAL, credentialName: b-cert }`;

/** Gateway edge/web with `servers`, and VirtualServices for a.example.com and b.example.com bound to it. */
const web = (...servers: string[]): string => `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: web, creationTimestamp: '2026-01-01T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:${servers.join('')}
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: a }
spec:
  hosts: [a.example.com]
  gateways: [web]
  http: [{ route: [{ destination: { host: app-a } }] }]
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [b.example.com]
  gateways: [web]
  http: [{ route: [{ destination: { host: app-b } }] }]
`;

/** Istio's common pattern: one Gateway, two TLS servers on 443, each with its own host and certificate. */
const TWO_SERVERS = web(SERVER_A, SERVER_B);

/** A PASSTHROUGH server on a TLS port. */
const PASS_GATEWAY = `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: pass, creationTimestamp: '2026-01-02T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
    - port: { number: 443, name: tls-pass, protocol: TLS }
      hosts: ['*.db.example.com']
      tls: { mode: PASSTHROUGH }
`;

/** The VirtualService routing the PASSTHROUGH server's SNI hosts. */
const PASS_ROUTES = `
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: db, creationTimestamp: '2026-02-01T00:00:00Z' }
spec:
  hosts: ['*.db.example.com']
  gateways: [pass]
  tls:
    - match: [{ sniHosts: [primary.db.example.com], port: 443 }, { sniHosts: [other.example.org] }]
      route: [{ destination: { host: db, port: { number: 443 } } }]
    - match: [{ sniHosts: [canary.db.example.com], port: 8443 }]
      route: [{ destination: { host: db-canary } }]
    - match: [{ sniHosts: ['*.db.example.com'] }]
      route:
        - { destination: { host: db }, weight: 90 }
        - { destination: { host: db-canary }, weight: 10 }
`;

const PASSTHROUGH = `${PASS_GATEWAY}---${PASS_ROUTES}`;

function objects(...yamls: string[]): KubernetesObject[] {
  return yamls.flatMap((y) =>
    parseAllDocuments(y)
      .map((doc) => doc.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => !!o),
  );
}

const translated = (...yamls: string[]): Translation =>
  translate(snapshotFromObjects(objects(SERVICES, ...yamls), mesh, 'edge'), gatewayProxy);

const gatewayListenersOf = (t: Translation): Listener[] =>
  t.config.listeners.filter((l) => l.direction === 'gateway');

const routeConfig = (t: Translation, name: string | undefined) =>
  t.config.routes.find((r) => r.name === name);

/** Every cluster each route configuration of a listener sends to, by virtual host domain. */
function clustersByDomain(t: Translation, listener: Listener): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const vh of routeConfig(t, listener.routeConfig)?.virtualHosts ?? []) {
    for (const d of vh.domains) out[d] = vh.routes.flatMap((r) => (r.clusters ?? []).map((c) => c.cluster));
  }
  return out;
}

/** The proxy must accept what the translator produces: schema, references, one listener per server name. */
function assertProxyAccepts(config: ProxyConfig): void {
  compileConfig(validateProxyConfig(structuredClone(config)), undefined, { credentials: () => undefined });
}

describe('translate: several TLS servers on one gateway port', () => {
  it('gives each server its own listener, certificate and route configuration, named after its port name', () => {
    const t = translated(TWO_SERVERS);
    const [a, b] = gatewayListenersOf(t);
    assert.deepEqual(
      [a, b].map((l) => ({ name: l?.name, port: l?.port, tls: l?.tls, routeConfig: l?.routeConfig })),
      [
        {
          name: 'gateway|443|edge/web|https-a',
          port: 443,
          tls: { mode: 'SIMPLE', credentialName: 'a-cert', hosts: ['a.example.com'] },
          routeConfig: 'gateway|443|edge/web|https-a',
        },
        {
          name: 'gateway|443|edge/web|https-b',
          port: 443,
          tls: { mode: 'MUTUAL', credentialName: 'b-cert', hosts: ['b.example.com'] },
          routeConfig: 'gateway|443|edge/web|https-b',
        },
      ],
    );
    assert.deepEqual(clustersByDomain(t, a!), {
      'a.example.com': ['outbound|8080||app-a.edge.svc.cluster.local'],
      'a.example.com:443': ['outbound|8080||app-a.edge.svc.cluster.local'],
    });
    assert.deepEqual(clustersByDomain(t, b!), {
      'b.example.com': ['outbound|8080||app-b.edge.svc.cluster.local'],
      'b.example.com:443': ['outbound|8080||app-b.edge.svc.cluster.local'],
    });
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('keeps a server listener name when another server joins the port or its hosts change', () => {
    const alone = translated(web(SERVER_A));
    assert.deepEqual(
      gatewayListenersOf(alone).map((l) => l.name),
      ['gateway|443|edge/web|https-a'],
    );
    const renamed = translated(web(SERVER_A.replace('a.example.com', 'a.example.net'), SERVER_B));
    assert.deepEqual(
      gatewayListenersOf(renamed).map((l) => l.name),
      ['gateway|443|edge/web|https-a', 'gateway|443|edge/web|https-b'],
    );
  });

  it('routes each server of several Gateways on one port only by the VirtualServices bound to its own Gateway', () => {
    const t = translated(
      web(SERVER_A),
      `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: other, creationTimestamp: '2026-01-03T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: ['*.example.com']
      tls: { mode: SIMPLE, credentialName: wildcard-cert }
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: on-other }
spec:
  hosts: ['*.example.com']
  gateways: [other]
  http: [{ route: [{ destination: { host: app-b } }] }]
`,
    );
    const byName = new Map(gatewayListenersOf(t).map((l) => [l.name, l]));
    const other = byName.get('gateway|443|edge/other|https');
    assert.ok(other);
    assert.deepEqual(other.tls, {
      mode: 'SIMPLE',
      credentialName: 'wildcard-cert',
      hosts: ['*.example.com'],
    });
    assert.deepEqual(Object.keys(clustersByDomain(t, other)), ['*.example.com', '*.example.com:443']);
    assert.deepEqual(Object.keys(clustersByDomain(t, byName.get('gateway|443|edge/web|https-a')!)), [
      'a.example.com',
      'a.example.com:443',
    ]);
    assertProxyAccepts(t.config);
  });

  it('leaves out a later server whose host a server of the port already has (oldest Gateway first), and says why', () => {
    const t = translated(
      TWO_SERVERS,
      `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: copycat, creationTimestamp: '2026-02-01T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: [c.example.com, b.example.com]
      tls: { mode: SIMPLE, credentialName: copy-cert }
`,
    );
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => l.name),
      ['gateway|443|edge/web|https-a', 'gateway|443|edge/web|https-b'],
    );
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'Gateway edge/copycat',
        message:
          'server 0 (port 443 https) is not served: host b.example.com on port 443 already belongs to Gateway edge/web server 1 (port 443 https-b); servers sharing a port need different hosts (Istio rejects duplicate SNI hosts): drop the host or move the server to another port',
      },
    ]);
  });

  it('reports duplicate port names within a Gateway and still names both servers apart', () => {
    const t = translated(TWO_SERVERS.replace('name: https-b', 'name: https-a'));
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => l.name),
      ['gateway|443|edge/web|https-a', 'gateway|443|edge/web|https-a#1'],
    );
    assert.match(t.diagnostics[0]?.message ?? '', /servers 0 and 1 share the port name https-a/);
    assertProxyAccepts(t.config);
  });

  it('does not serve a TLS mode the gateway cannot terminate (never as plaintext), and says so', () => {
    const t = translated(TWO_SERVERS.replace('mode: MUTUAL', 'mode: ISTIO_MUTUAL'));
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => l.name),
      ['gateway|443|edge/web|https-a'],
    );
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'Gateway edge/web',
        message:
          'server 1 (port 443 https-b) is not served: tls.mode ISTIO_MUTUAL is not supported by Weft gateways; use SIMPLE, MUTUAL or PASSTHROUGH',
      },
      {
        resource: 'VirtualService edge/b',
        message:
          "none of its hosts is served by Gateway edge/web; add a matching host to one of the Gateway's servers or to the VirtualService",
      },
    ]);
  });

  it('reports a bound VirtualService that no server of its Gateway serves, and not one another server serves', () => {
    const t = translated(
      TWO_SERVERS,
      `
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: stray }
spec:
  hosts: [stray.example.org]
  gateways: [web]
  http: [{ route: [{ destination: { host: app-a } }] }]
`,
    );
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'VirtualService edge/stray',
        message:
          "none of its hosts is served by Gateway edge/web; add a matching host to one of the Gateway's servers or to the VirtualService",
      },
    ]);
  });
});

describe('translate: plaintext HTTP servers sharing a port', () => {
  const HTTP_GATEWAYS = `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: team-a, creationTimestamp: '2026-01-01T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [a.example.com] }]
---
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: team-b, creationTimestamp: '2026-01-02T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: [b.example.com]
    - port: { number: 80, name: http-more, protocol: HTTP }
      hosts: [more.example.com]
    - port: { number: 80, name: tls-on-80, protocol: TLS }
      hosts: [c.example.com]
      tls: { mode: PASSTHROUGH }
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: a }
spec:
  hosts: [a.example.com]
  gateways: [team-a]
  http: [{ route: [{ destination: { host: app-a } }] }]
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [b.example.com, more.example.com]
  gateways: [team-b]
  http: [{ route: [{ destination: { host: app-b } }] }]
`;

  it("serves every Gateway's HTTP server of a port through one listener routing by Host (Istio's http.<port>)", () => {
    const t = translated(HTTP_GATEWAYS);
    const listeners = gatewayListenersOf(t);
    assert.deepEqual(
      listeners.map((l) => [l.name, l.routeConfig]),
      [['gateway|80', 'gateway|80']],
    );
    assert.deepEqual(
      routeConfig(t, 'gateway|80')?.virtualHosts.map((vh) => [vh.name, vh.domains]),
      [
        ['edge/a:80', ['a.example.com', 'a.example.com:80']],
        ['edge/b:80', ['b.example.com', 'b.example.com:80', 'more.example.com', 'more.example.com:80']],
      ],
    );
    assertProxyAccepts(t.config);
  });

  it('leaves out a TLS server on a port that serves plaintext HTTP, and says why', () => {
    assert.deepEqual(translated(HTTP_GATEWAYS).diagnostics, [
      {
        resource: 'Gateway edge/team-b',
        message:
          'server 2 (port 80 tls-on-80) is not served: port 80 already serves plaintext HTTP for Gateway edge/team-a server 0 (port 80 http); a port carries plaintext HTTP, TLS chosen by server name (SIMPLE, MUTUAL, PASSTHROUGH), or one TCP server: move it to another port',
      },
    ]);
  });
});

describe('translate: Gateway tls.mode PASSTHROUGH with VirtualService tls routes', () => {
  it('gives each tls route a listener chosen by its SNI hosts within the server, forwarding to its destinations', () => {
    const t = translated(PASSTHROUGH);
    assert.deepEqual(gatewayListenersOf(t), [
      {
        name: 'gateway|443|edge/pass|tls-pass|edge/db/tls/0',
        direction: 'gateway',
        port: 443,
        protocol: 'tls',
        tls: { mode: 'PASSTHROUGH', hosts: ['primary.db.example.com'] },
        tcpRoute: { clusters: [{ cluster: 'outbound|443||db.edge.svc.cluster.local', weight: 100 }] },
      },
      // tls[1] matches port 8443 only: not on this server.
      {
        name: 'gateway|443|edge/pass|tls-pass|edge/db/tls/2',
        direction: 'gateway',
        port: 443,
        protocol: 'tls',
        tls: { mode: 'PASSTHROUGH', hosts: ['*.db.example.com'] },
        tcpRoute: {
          clusters: [
            { cluster: 'outbound|443||db.edge.svc.cluster.local', weight: 90 },
            { cluster: 'outbound|443||db-canary.edge.svc.cluster.local', weight: 10 },
          ],
        },
      },
    ]);
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('serves SIMPLE and PASSTHROUGH servers side by side on one port, each for its own hosts', () => {
    const t = translated(TWO_SERVERS, PASSTHROUGH);
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => [l.name, l.tls?.mode, l.tls?.hosts]),
      [
        ['gateway|443|edge/pass|tls-pass|edge/db/tls/0', 'PASSTHROUGH', ['primary.db.example.com']],
        ['gateway|443|edge/pass|tls-pass|edge/db/tls/2', 'PASSTHROUGH', ['*.db.example.com']],
        ['gateway|443|edge/web|https-a', 'SIMPLE', ['a.example.com']],
        ['gateway|443|edge/web|https-b', 'MUTUAL', ['b.example.com']],
      ],
    );
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('gives an SNI host two VirtualServices route to the older one, and reports the other', () => {
    const t = translated(
      PASSTHROUGH,
      `
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: db-again, creationTimestamp: '2026-03-01T00:00:00Z' }
spec:
  hosts: [primary.db.example.com]
  gateways: [pass]
  tls: [{ match: [{ sniHosts: [primary.db.example.com] }], route: [{ destination: { host: db-canary } }] }]
`,
    );
    const primary = gatewayListenersOf(t).filter((l) => l.tls?.hosts?.includes('primary.db.example.com'));
    assert.deepEqual(
      primary.map((l) => l.name),
      ['gateway|443|edge/pass|tls-pass|edge/db/tls/0'],
    );
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'VirtualService edge/db-again',
        message:
          'tls[0]: SNI host primary.db.example.com on Gateway edge/pass port 443 already belongs to VirtualService edge/db tls[0], which wins; remove the host from one of them',
      },
    ]);
    assertProxyAccepts(t.config);
  });

  it('reports a PASSTHROUGH server no tls route serves (its connections are closed)', () => {
    const t = translated(PASS_GATEWAY);
    assert.deepEqual(gatewayListenersOf(t), []);
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'Gateway edge/pass',
        message:
          "server 0 (port 443 tls-pass) is PASSTHROUGH, but no tls route of a VirtualService bound to it matches its hosts, so its connections are closed; add a VirtualService with tls routes whose sniHosts match the server's hosts",
      },
    ]);
  });

  it('treats an HTTPS or TLS server without tls.mode as PASSTHROUGH, the Istio default', () => {
    const t = translated(PASSTHROUGH.replace('tls: { mode: PASSTHROUGH }', 'tls: {}'));
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => l.tls?.mode),
      ['PASSTHROUGH', 'PASSTHROUGH'],
    );
  });
});

describe('translate: Gateway tls.httpsRedirect on plaintext HTTP servers', () => {
  const HTTP_A_REDIRECT = `
    - port: { number: 80, name: http-a, protocol: HTTP }
      hosts: [a.example.com]
      tls: { httpsRedirect: true }`;
  const HTTP_B = `
    - port: { number: 80, name: http-b, protocol: HTTP }
      hosts: [b.example.com]`;

  it("redirects only the hosts of the server that asks, as require_tls ALL on that server's virtual host", () => {
    const t = translated(web(HTTP_A_REDIRECT, HTTP_B, SERVER_A));
    const byName = new Map(gatewayListenersOf(t).map((l) => [l.name, l]));
    assert.deepEqual([...byName.keys()].sort(), ['gateway|443|edge/web|https-a', 'gateway|80']);
    const [redirect, routed] = routeConfig(t, 'gateway|80')!.virtualHosts;
    assert.deepEqual(redirect, {
      name: 'gateway|80|edge/web|http-a',
      domains: ['a.example.com', 'a.example.com:80'],
      routes: [],
      requireTls: 'ALL',
    });
    assert.deepEqual([routed?.name, routed?.requireTls], ['edge/b:80', undefined]);
    assert.deepEqual(clustersByDomain(t, byName.get('gateway|80')!)['b.example.com'], [
      'outbound|8080||app-b.edge.svc.cluster.local',
    ]);
    // The HTTPS server the redirect points at routes a.example.com as before.
    assert.deepEqual(clustersByDomain(t, byName.get('gateway|443|edge/web|https-a')!)['a.example.com'], [
      'outbound|8080||app-a.edge.svc.cluster.local',
    ]);
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('redirects every host of a wildcard server, with or without a VirtualService, listing the exact hosts bound through it', () => {
    const t = translated(
      web(`
    - port: { number: 80, name: http, protocol: HTTP, targetPort: 8080 }
      hosts: ['edge/*.example.com']
      tls: { httpsRedirect: true }`),
    );
    assert.deepEqual(routeConfig(t, 'gateway|8080')?.virtualHosts, [
      {
        name: 'gateway|8080|edge/web|http',
        domains: [
          '*.example.com',
          '*.example.com:80',
          'a.example.com',
          'a.example.com:80',
          'b.example.com',
          'b.example.com:80',
        ],
        routes: [],
        requireTls: 'ALL',
      },
    ]);
    assert.deepEqual(
      translated(web(HTTP_A_REDIRECT.replace('a.example.com', 'c.example.com'))).config.routes,
      [
        {
          name: 'gateway|80',
          virtualHosts: [
            {
              name: 'gateway|80|edge/web|http-a',
              domains: ['c.example.com', 'c.example.com:80'],
              routes: [],
              requireTls: 'ALL',
            },
          ],
        },
      ],
    );
    assertProxyAccepts(t.config);
  });

  it('keeps a VirtualService reached through a redirecting and a routing server of one Gateway apart', () => {
    // VirtualService b for both hosts: merged into one virtual host, a.example.com would route.
    const yaml = web(HTTP_A_REDIRECT, HTTP_B).replace(
      'hosts: [b.example.com]\n  gateways',
      'hosts: [a.example.com, b.example.com]\n  gateways',
    );
    assert.ok(yaml.includes('hosts: [a.example.com, b.example.com]'));
    const t = translated(yaml);
    const vhosts = routeConfig(t, 'gateway|80')!.virtualHosts;
    assert.deepEqual(
      vhosts.map((vh) => [vh.name, vh.domains, vh.requireTls]),
      [
        ['gateway|80|edge/web|http-a', ['a.example.com', 'a.example.com:80'], 'ALL'],
        ['edge/b:80', ['b.example.com', 'b.example.com:80'], undefined],
      ],
    );
    assertProxyAccepts(t.config);
  });

  it('ignores httpsRedirect on a server that terminates TLS: its requests already came over TLS', () => {
    const t = translated(
      web(SERVER_A.replace('tls: { mode: SIMPLE', 'tls: { httpsRedirect: true, mode: SIMPLE')),
    );
    const [https] = gatewayListenersOf(t);
    assert.deepEqual(
      routeConfig(t, https!.routeConfig)?.virtualHosts.map((vh) => [vh.name, vh.requireTls]),
      [['edge/a:443', undefined]],
    );
  });
});

/** TCP services the tcp routes below send to, in namespace edge. */
const TCP_SERVICES = `
apiVersion: v1
kind: Service
metadata: { name: mongo }
spec: { selector: { app: mongo }, ports: [{ name: mongo, port: 27017 }] }
---
apiVersion: v1
kind: Service
metadata: { name: mongo-canary }
spec: { selector: { app: mongo-canary }, ports: [{ name: mongo, port: 27017 }] }
`;

/** Gateway edge/tcp with one server (YAML list item), and VirtualService edge/mongo with `tcp` routes bound to it. */
const tcpGateway = (server: string, tcp: string): string => `${TCP_SERVICES}
---
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: tcp, creationTimestamp: '2026-01-01T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
${server}
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: mongo, creationTimestamp: '2026-01-01T00:00:00Z' }
spec:
  hosts: ['*']
  gateways: [tcp]
  tcp:
${tcp}
`;

const MONGO_SERVER = `
    - port: { number: 27017, name: mongo, protocol: MONGO, targetPort: 7017 }
      hosts: ['*']`;

const MONGO_ROUTES = `
    - match: [{ port: 27018 }]
      route: [{ destination: { host: mongo-canary } }]
    - match: [{ port: 27017, gateways: [elsewhere] }, { port: 27017 }]
      route:
        - { destination: { host: mongo }, weight: 80 }
        - { destination: { host: mongo-canary, port: { number: 27017 } }, weight: 20 }
    - route: [{ destination: { host: mongo } }]`;

const MONGO = 'outbound|27017||mongo.edge.svc.cluster.local';
const MONGO_CANARY = 'outbound|27017||mongo-canary.edge.svc.cluster.local';

describe('translate: VirtualService tcp routes on Gateway TCP servers', () => {
  it("forwards a TCP server's connections by the first tcp route whose match applies (Gateway port number, gateways), weighted", () => {
    const t = translated(tcpGateway(MONGO_SERVER, MONGO_ROUTES));
    assert.deepEqual(gatewayListenersOf(t), [
      {
        name: 'gateway|7017|edge/tcp|mongo',
        direction: 'gateway',
        port: 7017,
        protocol: 'tcp',
        tcpRoute: {
          clusters: [
            { cluster: MONGO, weight: 80 },
            { cluster: MONGO_CANARY, weight: 20 },
          ],
        },
      },
    ]);
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('takes a route without match, and leaves out one whose match names another gateway', () => {
    const t = translated(
      tcpGateway(
        MONGO_SERVER,
        `
    - match: [{ gateways: [elsewhere] }]
      route: [{ destination: { host: mongo-canary } }]
    - route: [{ destination: { host: mongo } }]`,
      ),
    );
    assert.deepEqual(gatewayListenersOf(t)[0]?.tcpRoute, { clusters: [{ cluster: MONGO, weight: 100 }] });
  });

  it('gives the server to the older VirtualService, and reports the newer one whose route never applies', () => {
    const t = translated(
      tcpGateway(MONGO_SERVER, MONGO_ROUTES),
      `
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: mongo-too, creationTimestamp: '2026-02-01T00:00:00Z' }
spec:
  hosts: ['*']
  gateways: [tcp]
  tcp: [{ route: [{ destination: { host: mongo-canary } }] }]
`,
    );
    assert.deepEqual(
      gatewayListenersOf(t)[0]?.tcpRoute?.clusters.map((c) => c.cluster),
      [MONGO, MONGO_CANARY],
    );
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'VirtualService edge/mongo-too',
        message:
          "tcp[0] is not used on Gateway edge/tcp server 0 (port 27017 mongo): VirtualService edge/mongo tcp[1] takes its connections, as it comes first (VirtualServices private to the gateway proxy's namespace, then those exported to it by name, then public ones, oldest first within each, as in Istio); TCP carries no host to choose by, so a server has one route: give the routes different servers with match.port or match.gateways, or remove one",
      },
    ]);
  });

  it('reports a TCP server no tcp route serves (its connections are closed)', () => {
    const t = translated(
      tcpGateway(
        MONGO_SERVER,
        `    - match: [{ port: 27018 }]\n      route: [{ destination: { host: mongo } }]`,
      ),
    );
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => [l.name, l.tcpRoute]),
      [['gateway|7017|edge/tcp|mongo', undefined]],
    );
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'Gateway edge/tcp',
        message:
          "server 0 (port 27017 mongo) is TCP, but no tcp route of a VirtualService bound to it applies, so its connections are closed; add a VirtualService bound to the Gateway, with one of the server's hosts, and a tcp route without match or with match.port 27017",
      },
    ]);
  });

  it('does not take a VirtualService that shares no host with the server', () => {
    const t = translated(
      tcpGateway(MONGO_SERVER.replace("hosts: ['*']", 'hosts: [mongo.example.com]'), MONGO_ROUTES).replace(
        "hosts: ['*']\n  gateways: [tcp]",
        'hosts: [other.example.com]\n  gateways: [tcp]',
      ),
    );
    assert.equal(gatewayListenersOf(t)[0]?.tcpRoute, undefined);
    assert.deepEqual(
      t.diagnostics.map((d) => d.resource),
      ['VirtualService edge/mongo', 'Gateway edge/tcp'],
    );
  });
});

/** A server on a TLS port that terminates with its credential (Istio's TLS + SIMPLE). */
const TLS_MONGO_SERVER = `
    - port: { number: 27017, name: tls-mongo, protocol: TLS }
      hosts: [mongo.example.com]
      tls: { mode: SIMPLE, credentialName: mongo-cert }`;

describe("translate: Gateway TLS termination forwarded by VirtualService tcp routes (Istio's TLS + SIMPLE)", () => {
  it("terminates a TLS port's SIMPLE server with its credential and forwards the stream inside by the tcp route, weighted", () => {
    const t = translated(tcpGateway(TLS_MONGO_SERVER, MONGO_ROUTES));
    assert.deepEqual(gatewayListenersOf(t), [
      {
        name: 'gateway|27017|edge/tcp|tls-mongo',
        direction: 'gateway',
        port: 27017,
        protocol: 'tls',
        tls: { mode: 'SIMPLE', credentialName: 'mongo-cert', hosts: ['mongo.example.com'] },
        tcpRoute: {
          clusters: [
            { cluster: MONGO, weight: 80 },
            { cluster: MONGO_CANARY, weight: 20 },
          ],
        },
      },
    ]);
    assert.equal(t.config.routes.length, 0, 'no HTTP route configuration: nothing is routed as HTTP');
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('terminates a TCP port with MUTUAL tls settings the same way, asking for client certificates', () => {
    const t = translated(
      tcpGateway(
        TLS_MONGO_SERVER.replace('protocol: TLS', 'protocol: TCP').replace('SIMPLE', 'MUTUAL'),
        '    - route: [{ destination: { host: mongo } }]',
      ),
    );
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => [l.protocol, l.tls, l.tcpRoute, l.routeConfig]),
      [
        [
          'tcp',
          { mode: 'MUTUAL', credentialName: 'mongo-cert', hosts: ['mongo.example.com'] },
          { clusters: [{ cluster: MONGO, weight: 100 }] },
          undefined,
        ],
      ],
    );
    assertProxyAccepts(t.config);
  });

  it('shares a port with HTTPS and PASSTHROUGH servers, each chosen by its own server names', () => {
    const t = translated(
      tcpGateway(
        TLS_MONGO_SERVER.replaceAll('27017', '443'),
        '    - route: [{ destination: { host: mongo } }]',
      ),
      TWO_SERVERS,
      PASSTHROUGH,
    );
    assert.deepEqual(
      gatewayListenersOf(t).map((l) => [l.name, l.tls?.mode, l.protocol, l.tls?.hosts]),
      [
        ['gateway|443|edge/pass|tls-pass|edge/db/tls/0', 'PASSTHROUGH', 'tls', ['primary.db.example.com']],
        ['gateway|443|edge/pass|tls-pass|edge/db/tls/2', 'PASSTHROUGH', 'tls', ['*.db.example.com']],
        ['gateway|443|edge/tcp|tls-mongo', 'SIMPLE', 'tls', ['mongo.example.com']],
        ['gateway|443|edge/web|https-a', 'SIMPLE', 'http', ['a.example.com']],
        ['gateway|443|edge/web|https-b', 'MUTUAL', 'http', ['b.example.com']],
      ],
    );
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('serves no listener for a terminating server no tcp route serves (its server names are closed), and says that tls routes do not apply', () => {
    const t = translated(
      tcpGateway(
        TLS_MONGO_SERVER,
        '    - match: [{ port: 27018 }]\n      route: [{ destination: { host: mongo } }]',
      ),
    );
    assert.deepEqual(gatewayListenersOf(t), []);
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'Gateway edge/tcp',
        message:
          "server 0 (port 27017 tls-mongo) terminates TLS and forwards the TCP stream inside (VirtualService tls routes serve PASSTHROUGH servers only), but no tcp route of a VirtualService bound to it applies, so its connections are closed; add a VirtualService bound to the Gateway, with one of the server's hosts, and a tcp route without match or with match.port 27017",
      },
    ]);
  });
});

describe('translate: a Gateway without selector', () => {
  const unselected = (selector: string): string =>
    TWO_SERVERS.replace('  selector: { app: weft-ingressgateway }\n', selector);

  it("applies to every gateway proxy, whatever its labels, as Istio's mergeGateways (absent or empty selector)", () => {
    for (const selector of ['', '  selector: {}\n']) {
      const snapshot = snapshotFromObjects(objects(SERVICES, unselected(selector)), mesh, 'edge');
      const other = translate(snapshot, { ...gatewayProxy, id: 'other.team', labels: { app: 'team-gw' } });
      assert.deepEqual(
        gatewayListenersOf(other).map((l) => l.name),
        ['gateway|443|edge/web|https-a', 'gateway|443|edge/web|https-b'],
        `selector ${JSON.stringify(selector)}`,
      );
      assert.deepEqual(other.diagnostics, []);
    }
  });

  it('does not apply to sidecars, and a selector still picks its gateways only', () => {
    const snapshot = snapshotFromObjects(objects(SERVICES, unselected('')), mesh, 'edge');
    const sidecar = translate(snapshot, { ...gatewayProxy, id: 'app-a.edge', role: 'sidecar' });
    assert.deepEqual(gatewayListenersOf(sidecar), []);
    const selected = snapshotFromObjects(objects(SERVICES, web(SERVER_A)), mesh, 'edge');
    const other = translate(selected, { ...gatewayProxy, id: 'other.team', labels: { app: 'team-gw' } });
    assert.deepEqual(gatewayListenersOf(other), []);
  });
});

describe('translate: namespace/host on Gateway server hosts', () => {
  /** Gateway edge/web: one HTTP server whose hosts each admit VirtualServices of other namespaces. */
  const NAMESPACED = `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: web, creationTimestamp: '2026-01-01T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: [prod/prod.example.com, ./own.example.com, '*/any.example.com', bare.example.com]
`;
  /** A VirtualService `name` in `namespace` for `host`, bound to edge/web. */
  const vs = (
    name: string,
    namespace: string,
    host: string,
    routes = 'http: [{ route: [{ destination: { host: app-a.edge.svc.cluster.local } }] }]',
  ): string => `
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: [${host}]
  gateways: [edge/web]
  ${routes}
`;
  const boundHosts = (t: Translation): string[] =>
    (routeConfig(t, 'gateway|80')?.virtualHosts ?? []).map((vh) => `${vh.name} ${vh.domains[0]}`);

  it("binds a VirtualService through ns/host only from that namespace, ./host only from the Gateway's, */host and bare hosts from any", () => {
    const t = translated(
      NAMESPACED,
      vs('p', 'prod', 'prod.example.com'),
      vs('o', 'edge', 'own.example.com'),
      vs('a', 'dev', 'any.example.com'),
      vs('b', 'dev', 'bare.example.com'),
    );
    assert.deepEqual(boundHosts(t), [
      'dev/a:80 any.example.com',
      'dev/b:80 bare.example.com',
      'edge/o:80 own.example.com',
      'prod/p:80 prod.example.com',
    ]);
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('leaves out a VirtualService of another namespace whose host matches only through ns/host, and says which entry and how to fix it', () => {
    const t = translated(
      NAMESPACED,
      vs('p', 'dev', 'prod.example.com'),
      vs('o', 'prod', 'own.example.com'),
      vs('wide', 'dev', "'*.example.com'"),
    );
    // The wildcard VirtualService still gets the hosts open to every namespace.
    assert.deepEqual(boundHosts(t), ['dev/wide:80 any.example.com']);
    assert.deepEqual(routeConfig(t, 'gateway|80')?.virtualHosts[0]?.domains, [
      'any.example.com',
      'any.example.com:80',
      'bare.example.com',
      'bare.example.com:80',
    ]);
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'VirtualService dev/p',
        message:
          "host prod.example.com is not routed through Gateway edge/web server 0 (port 80 http): the server admits only VirtualServices of namespace prod there (prod/prod.example.com), and this one is in dev; move it to namespace prod, or add dev/prod.example.com (or */prod.example.com) to the server's hosts",
      },
      {
        resource: 'VirtualService dev/wide',
        message:
          "hosts prod.example.com, own.example.com are not routed through Gateway edge/web server 0 (port 80 http): the server admits only VirtualServices of namespace prod or edge there (prod/prod.example.com, edge/own.example.com), and this one is in dev; move it to namespace prod or edge, or add dev/prod.example.com (or */prod.example.com) to the server's hosts",
      },
      {
        resource: 'VirtualService prod/o',
        message:
          "host own.example.com is not routed through Gateway edge/web server 0 (port 80 http): the server admits only VirtualServices of namespace edge there (edge/own.example.com), and this one is in prod; move it to namespace edge, or add prod/own.example.com (or */own.example.com) to the server's hosts",
      },
    ]);
  });

  it('applies to tcp routes and to the SNI hosts of PASSTHROUGH routes as well', () => {
    const tcp = translated(
      tcpGateway(MONGO_SERVER.replace("hosts: ['*']", 'hosts: [prod/mongo.example.com]'), MONGO_ROUTES),
    );
    assert.equal(gatewayListenersOf(tcp)[0]?.tcpRoute, undefined);
    assert.deepEqual(
      tcp.diagnostics.map((d) => d.resource),
      ['VirtualService edge/mongo', 'Gateway edge/tcp'],
    );
    assert.match(tcp.diagnostics[0]!.message, /namespace prod there \(prod\/mongo\.example\.com\)/);

    const pass = translated(
      PASSTHROUGH.replace(
        "hosts: ['*.db.example.com']\n      tls",
        "hosts: ['./*.db.example.com']\n      tls",
      ),
    );
    assert.equal(gatewayListenersOf(pass).length, 2, 'edge/db is in the Gateway namespace');
    const elsewhere = translated(
      PASSTHROUGH.replace(
        "hosts: ['*.db.example.com']\n      tls",
        "hosts: ['prod/*.db.example.com']\n      tls",
      ),
    );
    assert.deepEqual(gatewayListenersOf(elsewhere), []);
    assert.deepEqual(
      elsewhere.diagnostics.map((d) => d.resource),
      ['VirtualService edge/db', 'Gateway edge/pass'],
    );
  });

  it('answers the same server name once for a host listed for two namespaces', () => {
    const t = translated(
      web(SERVER_A.replace('hosts: [a.example.com]', 'hosts: [edge/a.example.com, prod/a.example.com]')),
    );
    assert.deepEqual(gatewayListenersOf(t)[0]?.tls?.hosts, ['a.example.com']);
    assertProxyAccepts(t.config);
  });
});

describe("translate: exportTo of VirtualServices bound to Gateways (the gateway proxy's namespace)", () => {
  /** Gateway config/web, in another namespace than the gateway proxy (edge): one HTTP server for every host. */
  const CONFIG_WEB = `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: web, namespace: config, creationTimestamp: '2026-01-01T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ['*']
`;
  /** A VirtualService `name` in `namespace` for `host`, bound to `gateway`, with `exportTo` (YAML flow list) if given. */
  const vs = (
    name: string,
    namespace: string,
    host: string,
    exportTo?: string,
    gateway = 'config/web',
  ): string => `
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: [${host}]
  gateways: [${gateway}]${exportTo ? `\n  exportTo: ${exportTo}` : ''}
  http: [{ route: [{ destination: { host: app-a.edge.svc.cluster.local } }] }]
`;
  const boundNames = (t: Translation): string[] =>
    (routeConfig(t, 'gateway|80')?.virtualHosts ?? []).map((vh) => vh.name);
  const MIXED = [
    CONFIG_WEB,
    vs('own', 'edge', 'own.example.com', '[.]'),
    vs('beside', 'config', 'beside.example.com', '[.]'),
    vs('named', 'apps', 'named.example.com', '[edge]'),
    vs('elsewhere', 'apps', 'elsewhere.example.com', '[., prod]'),
    vs('everywhere', 'apps', 'all.example.com', "['*']"),
    vs('default', 'apps', 'default.example.com'),
  ];

  it("binds only VirtualServices exported to the gateway proxy's namespace, not the Gateway's, and reports the others with the fix", () => {
    const t = translated(...MIXED);
    // Istio's order: private to edge, exported to edge by name, then public (here all of one age).
    assert.deepEqual(boundNames(t), [
      'edge/own:80',
      'apps/named:80',
      'apps/default:80',
      'apps/everywhere:80',
    ]);
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'VirtualService apps/elsewhere',
        message:
          'spec.exportTo [., prod] exports it only to namespaces apps, prod, so it is not routed through Gateway config/web by the gateway proxy in namespace edge (exportTo is read against the gateway proxy\'s namespace, not the Gateway\'s, as in Istio); add edge (or "*") to spec.exportTo',
      },
      {
        resource: 'VirtualService config/beside',
        message:
          'spec.exportTo [.] exports it only to namespace config, so it is not routed through Gateway config/web by the gateway proxy in namespace edge (exportTo is read against the gateway proxy\'s namespace, not the Gateway\'s, as in Istio); add edge (or "*") to spec.exportTo',
      },
    ]);
    assertProxyAccepts(t.config);
  });

  it('gives a gateway proxy in another namespace, selected by the same Gateway, the VirtualServices exported there', () => {
    const proxy: ProxyIdentity = { ...gatewayProxy, id: 'weft-ingressgateway.config', namespace: 'config' };
    const t = translate(snapshotFromObjects(objects(SERVICES, ...MIXED), mesh, 'edge'), proxy);
    assert.deepEqual(boundNames(t), ['config/beside:80', 'apps/default:80', 'apps/everywhere:80']);
    assert.deepEqual(
      t.diagnostics.map((d) => d.resource),
      ['VirtualService apps/elsewhere', 'VirtualService apps/named', 'VirtualService edge/own'],
    );
  });

  it('leaves a tcp route that is not exported out of the choice: a newer exported VirtualService takes the server', () => {
    const hidden = tcpGateway(MONGO_SERVER, MONGO_ROUTES).replace(
      'gateways: [tcp]',
      'gateways: [tcp]\n  exportTo: [prod]',
    );
    const alone = translated(hidden);
    assert.deepEqual(
      gatewayListenersOf(alone).map((l) => [l.name, l.tcpRoute]),
      [['gateway|7017|edge/tcp|mongo', undefined]],
    );
    assert.deepEqual(
      alone.diagnostics.map((d) => d.resource),
      ['VirtualService edge/mongo', 'Gateway edge/tcp'],
    );
    assert.match(alone.diagnostics[0]!.message, /^spec\.exportTo \[prod\] exports it only to namespace prod/);

    const t = translated(
      hidden,
      `
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: mongo-too, creationTimestamp: '2026-02-01T00:00:00Z' }
spec:
  hosts: ['*']
  gateways: [tcp]
  exportTo: [.]
  tcp: [{ route: [{ destination: { host: mongo-canary } }] }]
`,
    );
    assert.deepEqual(gatewayListenersOf(t)[0]?.tcpRoute, {
      clusters: [{ cluster: MONGO_CANARY, weight: 100 }],
    });
    assert.deepEqual(
      t.diagnostics.map((d) => d.resource),
      ['VirtualService edge/mongo'],
    );
  });

  it('leaves the tls routes of a VirtualService that is not exported off a PASSTHROUGH server', () => {
    const t = translated(PASSTHROUGH.replace('gateways: [pass]', 'gateways: [pass]\n  exportTo: [other]'));
    assert.deepEqual(gatewayListenersOf(t), []);
    assert.deepEqual(
      t.diagnostics.map((d) => d.resource),
      ['VirtualService edge/db', 'Gateway edge/pass'],
    );
    assert.match(t.diagnostics[0]!.message, /Gateway edge\/pass by the gateway proxy in namespace edge/);
  });

  it('needs both: exportTo reaching the proxy and a server host ns/host admitting the namespace', () => {
    const t = translated(
      CONFIG_WEB.replace("hosts: ['*']", "hosts: ['prod/*.example.com']"),
      vs('p', 'prod', 'p.example.com', '[.]'),
      vs('q', 'prod', 'q.example.com', '[edge]'),
      vs('r', 'dev', 'r.example.com', "['*']"),
    );
    assert.deepEqual(boundNames(t), ['prod/q:80']);
    assert.deepEqual(
      t.diagnostics.map((d) => d.resource),
      ['VirtualService prod/p', 'VirtualService dev/r'],
    );
    assert.match(t.diagnostics[0]!.message, /^spec\.exportTo \[\.\] exports it only to namespace prod,/);
    assert.match(t.diagnostics[1]!.message, /admits only VirtualServices of namespace prod/);
  });
});

describe("translate: a gateway's VirtualServices in Istio's order (VirtualServicesForGateway)", () => {
  /** A VirtualService `namespace/name` for `host`, bound to `gateway`, created at `created`, with `exportTo` (YAML flow list) if given. */
  const vs = (
    name: string,
    namespace: string,
    created: string,
    exportTo?: string,
    host = `${name}.example.com`,
    gateway = 'config/web',
    destination = 'app-a.edge.svc.cluster.local',
  ): string => `
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${namespace}, creationTimestamp: '${created}T00:00:00Z' }
spec:
  hosts: [${host}]
  gateways: [${gateway}]${exportTo ? `\n  exportTo: ${exportTo}` : ''}
  http: [{ route: [{ destination: { host: ${destination} } }] }]
`;
  const virtualServices = (...yamls: string[]): VirtualService[] =>
    objects(...yamls).filter((o) => o.kind === 'VirtualService') as VirtualService[];

  it("lists those private to the gateway proxy's namespace, then those exported to it by name, then public ones, oldest first within each", () => {
    const all = virtualServices(
      vs('public-old', 'apps', '2026-01-01'),
      vs('public-star-in-edge', 'edge', '2026-01-02', "['*', .]"),
      vs('public-default-in-edge', 'edge', '2026-01-03'),
      vs('exported-new', 'apps', '2026-03-01', '[edge]'),
      vs('exported-old', 'prod', '2026-02-01', '[., edge]'),
      vs('private-new', 'edge', '2026-04-01', '[.]'),
      vs('private-by-name', 'edge', '2026-03-15', '[edge]'),
      vs('hidden', 'apps', '2026-01-01', '[.]'),
      vs('elsewhere', 'edge', '2026-01-01', '[.]', 'elsewhere.example.com', 'config/other'),
    );
    assert.deepEqual(virtualServicesForGateway(all, gatewayProxy, 'config/web').map(nameOf), [
      'edge/private-by-name',
      'edge/private-new',
      'prod/exported-old',
      'apps/exported-new',
      'apps/public-old',
      'edge/public-star-in-edge',
      'edge/public-default-in-edge',
    ]);
    // A proxy in prod: exported-old is private there, the one exported to edge is not visible.
    const inProd: ProxyIdentity = { ...gatewayProxy, namespace: 'prod' };
    assert.deepEqual(virtualServicesForGateway(all, inProd, 'config/web').map(nameOf), [
      'prod/exported-old',
      'apps/public-old',
      'edge/public-star-in-edge',
      'edge/public-default-in-edge',
    ]);
  });

  const CONFIG_WEB = `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: web, namespace: config, creationTimestamp: '2026-01-01T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ['*']
`;

  it("gives a host two VirtualServices claim the newer private one's catch-all first, and reports the older public one's as unused", () => {
    const t = translated(
      CONFIG_WEB,
      vs('shop', 'apps', '2026-01-01', undefined, 'shop.example.com'),
      vs('shop-edge', 'edge', '2026-06-01', '[.]', 'shop.example.com', 'config/web', 'app-b'),
    );
    const [host, ...others] = routeConfig(t, 'gateway|80')!.virtualHosts;
    assert.deepEqual(others, []);
    assert.deepEqual(
      [host?.name, host?.routes.map((r) => r.name)],
      ['edge/shop-edge,apps/shop:80', ['edge/shop-edge/0', 'apps/shop/0']],
    );
    const table = compileRouteConfiguration(routeConfig(t, 'gateway|80')!);
    const chosen = table.select({
      authority: 'shop.example.com',
      method: 'GET',
      path: '/',
      scheme: 'http',
      headers: {},
    });
    assert.deepEqual(
      chosen?.route.config.clusters?.map((c) => c.cluster),
      ['outbound|8080||app-b.edge.svc.cluster.local'],
    );
    assert.deepEqual(t.diagnostics, [
      {
        resource: 'VirtualService apps/shop',
        message:
          "http[0] matches every request and is never used for host shop.example.com on Gateway config/web port 80: VirtualService edge/shop-edge http[0] matches every request too and comes first (a gateway appends the routes of every VirtualService for a host in order, private to the gateway proxy's namespace, exported to it, then public, oldest first within each, and puts catch-all routes last, as Istio does); give one of them a match, or remove one",
      },
    ]);
    assertProxyAccepts(t.config);
  });

  it("gives a TCP server to the newer VirtualService private to the gateway proxy's namespace, and reports the older public one", () => {
    const t = translated(
      tcpGateway(MONGO_SERVER, MONGO_ROUTES),
      `
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: mongo-edge, creationTimestamp: '2026-02-01T00:00:00Z' }
spec:
  hosts: ['*']
  gateways: [tcp]
  exportTo: [.]
  tcp: [{ route: [{ destination: { host: mongo-canary } }] }]
`,
    );
    assert.deepEqual(gatewayListenersOf(t)[0]?.tcpRoute, {
      clusters: [{ cluster: MONGO_CANARY, weight: 100 }],
    });
    assert.deepEqual(
      t.diagnostics.map((d) => d.resource),
      ['VirtualService edge/mongo'],
    );
    assert.match(
      t.diagnostics[0]!.message,
      /^tcp\[1\] is not used .*VirtualService edge\/mongo-edge tcp\[0\] takes/,
    );
  });
});

describe('translate: VirtualServices that share a host on a gateway (one virtual host, their routes in turn, as Istio)', () => {
  /** Gateway edge/shop, created first, with `servers` (YAML list items). */
  const shopGateway = (name: string, created: string, servers: string): string => `
apiVersion: networking.weft.dev/v1
kind: Gateway
metadata: { name: ${name}, creationTimestamp: '${created}T00:00:00Z' }
spec:
  selector: { app: weft-ingressgateway }
  servers:${servers}
`;
  const HTTP_80 = `
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: [shop.example.com]`;
  /** VirtualService edge/`name` (or `namespace/name`) created at `created`, with these YAML fields in spec. */
  const vsOf = (name: string, created: string, spec: string, namespace = 'edge'): string => `
---
apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${namespace}, creationTimestamp: '${created}T00:00:00Z' }
spec:${spec}
`;
  const A = 'outbound|8080||app-a.edge.svc.cluster.local';
  const B = 'outbound|8080||app-b.edge.svc.cluster.local';

  /** The route and clusters the compiled route configuration picks for a GET, as the proxy would. */
  function pick(t: Translation, rc: string, authority: string, path: string): [string, string[]] | undefined {
    const chosen = compileRouteConfiguration(routeConfig(t, rc)!).select({
      authority,
      method: 'GET',
      path,
      scheme: 'http',
      headers: {},
    });
    return chosen && [chosen.route.config.name, (chosen.route.config.clusters ?? []).map((c) => c.cluster)];
  }

  const CART = vsOf(
    'cart',
    '2026-01-01',
    `
  hosts: [shop.example.com]
  gateways: [shop]
  http:
    - name: cart
      match: [{ uri: { prefix: /cart } }]
      route: [{ destination: { host: app-a } }]
      headers: { request: { set: { x-team: cart } } }
      retries: { attempts: 5, retryOn: 5xx }`,
  );
  const CATALOG = vsOf(
    'catalog',
    '2026-02-01',
    `
  hosts: [shop.example.com]
  gateways: [shop]
  http:
    - match: [{ uri: { prefix: /catalog } }]
      route: [{ destination: { host: app-b } }]
      corsPolicy: { allowOrigins: [{ exact: 'https://shop.example.com' }], allowMethods: [GET] }
      timeout: 3s`,
  );

  it("gives two VirtualServices for one host one virtual host with the first one's routes, then the other's, each with its own name and policies", () => {
    const t = translated(shopGateway('shop', '2026-01-01', HTTP_80), CART, CATALOG);
    const virtualHosts = routeConfig(t, 'gateway|80')!.virtualHosts;
    assert.deepEqual(
      virtualHosts.map((vh) => [vh.name, vh.domains]),
      [['edge/cart,edge/catalog:80', ['shop.example.com', 'shop.example.com:80']]],
    );
    const [cart, catalog] = virtualHosts[0]!.routes;
    assert.deepEqual(
      [cart?.name, cart?.matches, cart?.clusters, cart?.headers, cart?.retry, cart?.cors],
      [
        'edge/cart/cart',
        [{ uri: { prefix: '/cart' } }],
        [{ cluster: A, weight: 100 }],
        { request: { set: { 'x-team': 'cart' } } },
        { attempts: 5, retryOn: ['5xx'] },
        undefined,
      ],
    );
    assert.deepEqual(
      [
        catalog?.name,
        catalog?.matches,
        catalog?.clusters,
        catalog?.headers,
        catalog?.timeoutMs,
        catalog?.cors,
      ],
      [
        'edge/catalog/0',
        [{ uri: { prefix: '/catalog' } }],
        [{ cluster: B, weight: 100 }],
        undefined,
        3000,
        { allowOrigins: [{ exact: 'https://shop.example.com' }], allowMethods: ['GET'] },
      ],
    );
    assert.equal(virtualHosts[0]!.routes.length, 2);
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/cart/1'), ['edge/cart/cart', [A]]);
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/catalog?page=2'), ['edge/catalog/0', [B]]);
    assert.equal(pick(t, 'gateway|80', 'shop.example.com', '/elsewhere'), undefined);
    assert.deepEqual(t.diagnostics, []);
    assertProxyAccepts(t.config);
  });

  it('does the same on a SIMPLE server, in its own route configuration', () => {
    const HTTPS_443 = `
    - port: { number: 443, name: https, protocol: HTTPS }
      hosts: [shop.example.com]
      tls: { mode: SIMPLE, credentialName: shop-cert }`;
    const t = translated(shopGateway('shop', '2026-01-01', HTTPS_443), CART, CATALOG);
    const rc = 'gateway|443|edge/shop|https';
    assert.deepEqual(
      routeConfig(t, rc)?.virtualHosts.map((vh) => [vh.name, vh.routes.map((r) => r.name)]),
      [['edge/cart,edge/catalog:443', ['edge/cart/cart', 'edge/catalog/0']]],
    );
    assert.deepEqual(pick(t, rc, 'shop.example.com', '/catalog'), ['edge/catalog/0', [B]]);
    assert.deepEqual(t.diagnostics, []);
  });

  it("puts the routes of a newer VirtualService private to the gateway proxy's namespace before an older public one's", () => {
    const publicOld = vsOf(
      'shop',
      '2026-01-01',
      `
  hosts: [shop.example.com]
  gateways: [edge/shop]
  http:
    - match: [{ uri: { prefix: /cart } }]
      route: [{ destination: { host: app-a.edge.svc.cluster.local } }]
    - match: [{ uri: { prefix: /orders } }]
      route: [{ destination: { host: app-a.edge.svc.cluster.local } }]`,
      'apps',
    );
    const privateNew = vsOf(
      'shop-edge',
      '2026-06-01',
      `
  hosts: [shop.example.com]
  gateways: [shop]
  exportTo: [.]
  http:
    - match: [{ uri: { prefix: /cart } }]
      route: [{ destination: { host: app-b } }]`,
    );
    const t = translated(shopGateway('shop', '2026-01-01', HTTP_80), publicOld, privateNew);
    assert.deepEqual(
      routeConfig(t, 'gateway|80')?.virtualHosts.map((vh) => [vh.name, vh.routes.map((r) => r.name)]),
      [['edge/shop-edge,apps/shop:80', ['edge/shop-edge/0', 'apps/shop/0', 'apps/shop/1']]],
    );
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/cart'), ['edge/shop-edge/0', [B]]);
    // What the private one does not route falls to the public one.
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/orders/7'), ['apps/shop/1', [A]]);
    assert.deepEqual(t.diagnostics, []);
  });

  it('merges equal hosts only: a VirtualService host * bound through server host *.example.com shares *.example.com, never a.example.com', () => {
    const WILDCARD_80 = `
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ['*.example.com']`;
    const routed = (name: string, created: string, host: string, prefix: string, to: string): string =>
      vsOf(
        name,
        created,
        `
  hosts: ['${host}']
  gateways: [shop]
  http: [{ match: [{ uri: { prefix: ${prefix} } }], route: [{ destination: { host: ${to} } }] }]`,
      );
    const t = translated(
      shopGateway('shop', '2026-01-01', WILDCARD_80),
      routed('any', '2026-01-01', '*', '/any', 'app-a'),
      routed('wild', '2026-01-02', '*.example.com', '/wild', 'app-b'),
      routed('exact', '2026-01-03', 'a.example.com', '/a', 'app-a'),
      routed('exact-more', '2026-01-04', 'a.example.com', '/more', 'app-b'),
    );
    assert.deepEqual(
      routeConfig(t, 'gateway|80')?.virtualHosts.map((vh) => [
        vh.name,
        vh.domains,
        vh.routes.map((r) => r.name),
      ]),
      [
        ['edge/any,edge/wild:80', ['*.example.com', '*.example.com:80'], ['edge/any/0', 'edge/wild/0']],
        [
          'edge/exact,edge/exact-more:80',
          ['a.example.com', 'a.example.com:80'],
          ['edge/exact/0', 'edge/exact-more/0'],
        ],
      ],
    );
    assert.deepEqual(pick(t, 'gateway|80', 'b.example.com', '/wild'), ['edge/wild/0', [B]]);
    assert.deepEqual(pick(t, 'gateway|80', 'a.example.com', '/more'), ['edge/exact-more/0', [B]]);
    // a.example.com has a virtual host of its own: the wildcard's routes are not in it.
    assert.equal(pick(t, 'gateway|80', 'a.example.com', '/wild'), undefined);
    assert.deepEqual(t.diagnostics, []);
  });

  it("puts an earlier VirtualService's catch-all after a later one's paths, and reports a later catch-all it hides, naming both", () => {
    const web = vsOf(
      'web',
      '2026-01-01',
      `
  hosts: [shop.example.com]
  gateways: [shop]
  http:
    - match: [{ uri: { prefix: /static } }, { uri: { prefix: / } }]
      route: [{ destination: { host: app-a } }]
    - match: [{ uri: { prefix: /never } }]
      route: [{ destination: { host: app-b } }]`,
    );
    const api = vsOf(
      'api',
      '2026-02-01',
      `
  hosts: [shop.example.com]
  gateways: [shop]
  http:
    - match: [{ uri: { prefix: /api }, method: { exact: GET } }]
      route: [{ destination: { host: app-b } }]
    - route: [{ destination: { host: app-b } }]`,
    );
    const t = translated(shopGateway('shop', '2026-01-01', HTTP_80), web, api);
    const [host] = routeConfig(t, 'gateway|80')!.virtualHosts;
    // Istio: one route per match, stopping at a VirtualService's first catch-all; catch-alls last.
    assert.deepEqual(
      host?.routes.map((r) => [r.name, r.matches]),
      [
        ['edge/web/0', [{ uri: { prefix: '/static' } }]],
        ['edge/api/0', [{ uri: { prefix: '/api' }, method: { exact: 'GET' } }]],
        ['edge/web/0', [{ uri: { prefix: '/' } }]],
        ['edge/api/1', []],
      ],
    );
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/api/items'), ['edge/api/0', [B]]);
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/static/x.css'), ['edge/web/0', [A]]);
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/never'), ['edge/web/0', [A]]);
    assert.deepEqual(
      t.diagnostics.map((d) => d.resource),
      ['VirtualService edge/api'],
    );
    assert.match(
      t.diagnostics[0]!.message,
      /^http\[1\] matches every request and is never used for host shop\.example\.com on Gateway edge\/shop port 80: VirtualService edge\/web http\[0\] matches every request too and comes first/,
    );
    assertProxyAccepts(t.config);
  });

  it("shares a host between Gateways whose plaintext servers share a port (Istio's http.<port>)", () => {
    const t = translated(
      shopGateway('shop', '2026-01-01', HTTP_80),
      shopGateway('shop-b', '2026-01-02', HTTP_80),
      CART,
      CATALOG.replace('gateways: [shop]', 'gateways: [shop-b]'),
    );
    assert.deepEqual(
      routeConfig(t, 'gateway|80')?.virtualHosts.map((vh) => [vh.name, vh.routes.map((r) => r.name)]),
      [['edge/cart,edge/catalog:80', ['edge/cart/cart', 'edge/catalog/0']]],
    );
    assert.deepEqual(pick(t, 'gateway|80', 'shop.example.com', '/catalog'), ['edge/catalog/0', [B]]);
    assert.deepEqual(t.diagnostics, []);
  });

  it('leaves sidecars as they are: the oldest VirtualService for a host takes it, the other is reported', () => {
    const meshToo = (yaml: string): string =>
      yaml
        .replace('hosts: [shop.example.com]', 'hosts: [app-a]')
        .replace(/gateways: \[shop\]/, 'gateways: [shop, mesh]');
    const resources = [
      shopGateway('shop', '2026-01-01', HTTP_80.replace('shop.example.com', "'*'")),
      meshToo(CART),
      meshToo(CATALOG),
    ];
    const gateway = translated(...resources);
    assert.deepEqual(
      routeConfig(gateway, 'gateway|80')?.virtualHosts.map((vh) => vh.routes.map((r) => r.name)),
      [['edge/cart/cart', 'edge/catalog/0']],
    );
    const sidecar = translate(snapshotFromObjects(objects(SERVICES, ...resources), mesh, 'edge'), {
      ...gatewayProxy,
      id: 'app-b.edge',
      role: 'sidecar',
      labels: { app: 'b' },
    });
    const outbound = sidecar.config.routes
      .flatMap((rc) => rc.virtualHosts)
      .filter((vh) => vh.domains.includes('app-a.edge.svc.cluster.local'));
    assert.deepEqual(
      outbound.map((vh) => vh.routes.map((r) => r.name)),
      [['edge/cart/cart']],
    );
    assert.deepEqual(
      sidecar.diagnostics.map((d) => d.resource),
      ['VirtualService edge/catalog'],
    );
  });
});
