import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateProxyConfig } from '../../../proxy/config/compile.js';
import type { BenchPki, TlsFiles } from '../bench-pki.js';
import { SCENARIOS, UPSTREAM_PORT, type PathContext } from '../topology.js';
import { haproxyPath } from './haproxy.js';
import { nginxPath, upstreamConfig } from './nginx.js';
import { nodePath } from './node.js';
import { weftPath } from './weft.js';

const files = (name: string): TlsFiles => ({
  certChain: `/b/${name}-chain.pem`,
  key: `/b/${name}-key.pem`,
  combined: `/b/${name}-combined.pem`,
  root: '/b/root.pem',
});
const pki: BenchPki = {
  weftClient: files('weft-client'),
  weftServer: { ...files('weft-server'), spiffeId: 'spiffe://cluster.local/ns/default/sa/svc' },
  tlsServer: files('tls-server'),
  tlsClient: files('tls-client'),
};
const ctx = (name: string): PathContext => ({
  scenario: SCENARIOS.find((s) => s.name === name)!,
  index: SCENARIOS.findIndex((s) => s.name === name),
  dir: '/b',
  pki,
});

describe('bench paths', () => {
  it('gives every process of every path its own ports', () => {
    const ports = SCENARIOS.flatMap((_, index) =>
      [haproxyPath, nginxPath, nodePath, weftPath].flatMap(
        (path) => path({ ...ctx(SCENARIOS[index]!.name) }).hops,
      ),
    ).map((h) => h.port);
    assert.equal(new Set([...ports, UPSTREAM_PORT]).size, ports.length + 1);
  });

  it('renders Weft configurations the proxy accepts, mesh mTLS to the STRICT server sidecar', () => {
    for (const s of SCENARIOS) {
      const path = weftPath(ctx(s.name));
      assert.equal(path.hops.length, s.hops);
      for (const hop of path.hops) validateProxyConfig(JSON.parse(hop.files[0]!.content));
    }
    const [client, server] = weftPath(ctx('2hop-mtls')).hops;
    const clientConfig = JSON.parse(client!.files[0]!.content) as { clusters: { tls?: { mode: string } }[] };
    assert.equal(clientConfig.clusters[0]!.tls?.mode, 'MESH');
    assert.match(server!.files[0]!.content, /"STRICT"/);
    assert.ok(client!.args.includes('--cert-chain=/b/weft-client-chain.pem'));
    assert.equal(weftPath(ctx('2hop-mtls')).entryPort, client!.port);
  });

  it('puts mutual, verified TLS between the HAProxy hops only in the mTLS scenario', () => {
    const [a, b] = haproxyPath(ctx('2hop-mtls')).hops;
    assert.match(
      a!.files[0]!.content,
      /server next 127\.0\.0\.1:\d+ ssl crt \/b\/tls-client-combined\.pem .*verify required/,
    );
    assert.match(
      b!.files[0]!.content,
      /bind 127\.0\.0\.1:\d+ ssl crt \/b\/tls-server-combined\.pem .*verify required/,
    );
    for (const hop of haproxyPath(ctx('2hop-plain')).hops) assert.doesNotMatch(hop.files[0]!.content, /ssl/);
  });

  it('puts mutual, hostname-checked TLS between the nginx hops only in the mTLS scenario', () => {
    const [a, b] = nginxPath(ctx('2hop-mtls')).hops;
    assert.match(a!.files[0]!.content, /proxy_pass https:\/\/next/);
    assert.match(a!.files[0]!.content, /proxy_ssl_verify on; proxy_ssl_name localhost/);
    assert.match(b!.files[0]!.content, /ssl_verify_client on/);
    for (const hop of nginxPath(ctx('2hop-plain')).hops) assert.doesNotMatch(hop.files[0]!.content, /ssl/);
  });

  it('serves exactly 1 KB from the upstream', () => {
    const body = /return 200 '([^']*)'/.exec(upstreamConfig('/b'))![1]!;
    assert.equal(body.length, 1024);
  });
});
