import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig, listenerBySni, validateProxyConfig } from './compile.js';
import { ConfigError } from './config-error.js';
import type { Listener, ProxyConfig } from './generated/proxy-config.js';

const CLUSTER = 'outbound|443||api.example.com';

function configWith(listeners: Listener[]): ProxyConfig {
  return validateProxyConfig({
    version: 'weft.proxy/v1',
    node: { id: 'client.default', role: 'sidecar', namespace: 'default' },
    listeners,
    routes: [],
    clusters: [{ name: CLUSTER, type: 'dns', protocol: 'tls' }],
    endpoints: [],
    security: { mtls: { mode: 'PERMISSIVE' }, authorization: { deny: [], allow: [], audit: [] } },
  });
}

function tlsListener(name: string, hosts: string[] | undefined, address?: string): Listener {
  return {
    name,
    direction: 'outbound',
    port: 443,
    protocol: 'tls',
    ...(address ? { address } : {}),
    ...(hosts ? { tls: { mode: 'PASSTHROUGH', hosts } } : {}),
    tcpRoute: { clusters: [{ cluster: CLUSTER, weight: 100 }] },
  };
}

const compile = (listeners: Listener[]): ReturnType<typeof compileConfig>['compiled'] =>
  compileConfig(configWith(listeners), undefined, { credentials: () => undefined }).compiled;

describe('compileConfig: outbound TLS listeners by server name', () => {
  it('indexes listeners with tls.hosts by port and host, so several share a port', () => {
    const compiled = compile([
      tlsListener('api', ['API.example.com']),
      tlsListener('wild', ['*.example.org']),
      tlsListener('other', ['other.example.com']),
    ]);
    const byHost = compiled.outboundBySni.get(443)!;
    assert.equal(listenerBySni(byHost, 'api.example.com')?.config.name, 'api');
    assert.equal(listenerBySni(byHost, 'other.example.com')?.config.name, 'other');
    assert.equal(listenerBySni(byHost, 'www.example.org')?.config.name, 'wild');
    assert.equal(listenerBySni(byHost, 'example.org'), undefined, 'a wildcard needs a label in front');
    assert.equal(listenerBySni(byHost, 'api.example.net'), undefined);
    assert.equal(compiled.outbound.size, 0, 'listeners chosen by name do not claim the port');
  });

  it('keeps a TLS listener without hosts on its port, and one with an address by address', () => {
    const compiled = compile([
      tlsListener('port', undefined),
      tlsListener('vip', ['api.example.com'], '10.96.0.9'),
    ]);
    assert.equal(compiled.outbound.get(443)?.config.name, 'port');
    assert.equal(compiled.outboundByAddress.get('10.96.0.9:443')?.config.name, 'vip');
    assert.equal(compiled.outboundBySni.size, 0);
  });

  it('refuses two listeners claiming one server name on one port, naming the field', () => {
    assert.throws(
      () =>
        compile([
          tlsListener('a', ['api.example.com']),
          tlsListener('b', ['x.example.com', 'api.example.com']),
        ]),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.path === 'listeners[1].tls.hosts[1]' &&
        /two outbound TLS listeners for api\.example\.com:443/.test(err.message),
    );
  });
});
