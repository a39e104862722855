import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig, listenerBySni, validateProxyConfig, type ActiveListener } from './compile.js';
import { ConfigError } from './config-error.js';
import type { Listener, ProxyConfig } from './generated/proxy-config.js';

const BACKEND = 'outbound|443||db.edge.svc.cluster.local';

function configWith(listeners: Listener[]): ProxyConfig {
  return validateProxyConfig({
    version: 'weft.proxy/v1',
    node: { id: 'gw.edge', role: 'gateway', namespace: 'edge' },
    listeners,
    routes: listeners.filter((l) => l.routeConfig).map((l) => ({ name: l.routeConfig!, virtualHosts: [] })),
    clusters: [{ name: BACKEND, type: 'eds', protocol: 'tls' }],
    endpoints: [],
    security: { mtls: { mode: 'PERMISSIVE' }, authorization: { deny: [], allow: [], audit: [] } },
  });
}

const terminating = (name: string, hosts: string[], port = 443): Listener => ({
  name,
  direction: 'gateway',
  port,
  protocol: 'http',
  routeConfig: name,
  tls: { mode: 'SIMPLE', credentialName: `${name}-cert`, hosts },
});

const passthrough = (name: string, hosts: string[]): Listener => ({
  name,
  direction: 'gateway',
  port: 443,
  protocol: 'tls',
  tls: { mode: 'PASSTHROUGH', hosts },
  tcpRoute: { clusters: [{ cluster: BACKEND, weight: 100 }] },
});

/** Istio's TLS + SIMPLE: terminates, then forwards the decrypted stream by its tcpRoute. */
const terminatingTcp = (name: string, hosts: string[]): Listener => ({
  name,
  direction: 'gateway',
  port: 443,
  protocol: 'tls',
  tls: { mode: 'SIMPLE', credentialName: `${name}-cert`, hosts },
  tcpRoute: { clusters: [{ cluster: BACKEND, weight: 100 }] },
});

const plain = (name: string, port: number): Listener => ({
  name,
  direction: 'gateway',
  port,
  protocol: 'http',
  routeConfig: name,
});

const compile = (listeners: Listener[]) =>
  compileConfig(configWith(listeners), undefined, { credentials: () => undefined }).compiled;

function configError(listeners: Listener[]): ConfigError {
  try {
    compile(listeners);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('compileConfig: gateway listeners', () => {
  it('indexes TLS listeners of one port by server name, terminating and passthrough side by side', () => {
    const compiled = compile([
      terminating('a', ['A.example.com']),
      terminating('b', ['b.example.com']),
      passthrough('db', ['*.db.example.com']),
      plain('http', 80),
    ]);
    const byHost = compiled.gatewayBySni.get(443);
    assert.deepEqual(
      [...(byHost ?? [])].map(([host, l]) => [host, l.config.name]),
      [
        ['a.example.com', 'a'],
        ['b.example.com', 'b'],
        ['*.db.example.com', 'db'],
      ],
    );
    assert.deepEqual([...compiled.gateway.keys()], [80]);
    assert.deepEqual([...compiled.gatewayByName.keys()].sort(), ['a', 'b', 'db', 'http']);
    assert.equal(compiled.gatewayByName.get('a')?.routes?.name, 'a');
  });

  it('indexes a terminating listener that forwards TCP beside HTTP and passthrough ones, by its server names', () => {
    const compiled = compile([
      terminating('a', ['a.example.com']),
      terminatingTcp('mongo', ['mongo.example.com']),
      passthrough('db', ['db.example.com']),
    ]);
    assert.equal(compiled.gatewayBySni.get(443)?.get('mongo.example.com')?.config.name, 'mongo');
    assert.equal(compiled.gatewayByName.get('mongo')?.routes, undefined);
  });

  it('refuses a terminating tcp or tls listener with nowhere to send the decrypted stream', () => {
    const { tcpRoute: _none, ...bare } = terminatingTcp('mongo', ['mongo.example.com']);
    const err = configError([bare]);
    assert.equal(err.path, 'listeners[0].tcpRoute');
    assert.match(err.message, /SIMPLE gateway listener of protocol tls forwards the decrypted stream/);
    assert.equal(configError([{ ...bare, protocol: 'tcp' }]).path, 'listeners[0].tcpRoute');
  });

  it('takes a TLS listener without hosts as the one for any server name', () => {
    const compiled = compile([{ ...terminating('any', []), tls: { mode: 'MUTUAL', credentialName: 'c' } }]);
    assert.deepEqual([...(compiled.gatewayBySni.get(443)?.keys() ?? [])], ['*']);
  });

  it('refuses two TLS listeners for one server name on a port, naming both', () => {
    const err = configError([
      terminating('a', ['a.example.com']),
      passthrough('p', ['x.example.com', 'a.example.com']),
    ]);
    assert.equal(err.path, 'listeners[1].tls.hosts[1]');
    assert.match(err.message, /a\.example\.com on port 443 already belongs to gateway listener "a"/);
  });

  it('refuses a plaintext listener and TLS listeners on one port, and two plaintext listeners', () => {
    assert.equal(
      configError([plain('http', 443), terminating('a', ['a.example.com'])]).path,
      'listeners[1].port',
    );
    assert.equal(
      configError([terminating('a', ['a.example.com']), plain('http', 443)]).path,
      'listeners[1].port',
    );
    assert.match(
      configError([plain('one', 80), plain('two', 80)]).message,
      /two gateway listeners on port 80/,
    );
  });

  it('refuses a PASSTHROUGH listener with nowhere to send the bytes, and two listeners with one name', () => {
    const { tcpRoute: _none, ...bare } = passthrough('p', ['db.example.com']);
    assert.equal(configError([bare]).path, 'listeners[0].tcpRoute');
    assert.equal(
      configError([terminating('a', ['a.example.com']), terminating('a', ['b.example.com'])]).path,
      'listeners[1].name',
    );
  });
});

describe("listenerBySni (Envoy's server_names match)", () => {
  const listener = (name: string): ActiveListener => ({ config: plain(name, 443), routes: undefined });
  const table = new Map<string, ActiveListener>([
    ['api.example.com', listener('exact')],
    ['*.example.com', listener('wild')],
    ['*.eu.example.com', listener('eu')],
  ]);
  const pick = (byHost: ReadonlyMap<string, ActiveListener>, sni: string | undefined) =>
    listenerBySni(byHost, sni)?.config.name;

  it('prefers the exact name, then the longest wildcard suffix, whatever the case', () => {
    assert.equal(pick(table, 'API.example.com'), 'exact');
    assert.equal(pick(table, 'www.example.com'), 'wild');
    assert.equal(pick(table, 'a.b.example.com'), 'wild');
    assert.equal(pick(table, 'shop.eu.example.com'), 'eu');
  });

  it('finds nothing for another name or none, unless a listener takes any (*)', () => {
    assert.equal(pick(table, 'example.com'), undefined);
    assert.equal(pick(table, 'other.org'), undefined);
    assert.equal(pick(table, undefined), undefined);
    const withAny = new Map([...table, ['*', listener('any')]]);
    assert.equal(pick(withAny, 'other.org'), 'any');
    assert.equal(pick(withAny, undefined), 'any');
    assert.equal(pick(withAny, 'www.example.com'), 'wild');
  });
});
