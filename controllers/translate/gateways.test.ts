import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { compileConfig, validateProxyConfig } from '../../proxy/config/compile.js';
import type { Listener, ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { snapshotFromObjects } from './snapshot-from-objects.js';
import type { ProxyIdentity } from './snapshot.js';
import { translate, type Translation } from './translate.js';

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
