import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { ProxyConfig, TlsSecret } from '../../proxy/config/generated/proxy-config.js';
import type { ProxyAnnouncement } from '../../proxy/config/generated/push-protocol.js';
import { issueCertificate } from '../ca/issue.js';
import {
  credentialDemands,
  credentialReferences,
  GatewayCredentials,
  secretsFor,
} from './gateway-credentials.js';

const listeners: ProxyConfig['listeners'] = [
  {
    name: 'gateway|8443|edge/shop',
    direction: 'gateway',
    port: 8443,
    protocol: 'http',
    tls: { mode: 'SIMPLE', credentialName: 'shop-cert', hosts: ['shop.example.com'] },
  },
  {
    name: 'gateway|9443|edge/partners',
    direction: 'gateway',
    port: 9443,
    protocol: 'http',
    tls: { mode: 'MUTUAL', credentialName: 'partner-cert', hosts: ['partners.example.com'] },
  },
  {
    name: 'gateway|8444|edge/pass',
    direction: 'gateway',
    port: 8444,
    protocol: 'tls',
    tls: { mode: 'PASSTHROUGH', hosts: ['db.example.com'] },
  },
  { name: 'gateway|8080|edge/shop', direction: 'gateway', port: 8080, protocol: 'http' },
];

const gateway: ProxyAnnouncement = {
  id: 'ingress-1.edge',
  role: 'gateway',
  namespace: 'edge',
  serviceAccount: 'ingress',
};
const sidecar: ProxyAnnouncement = {
  id: 'shop-1.edge',
  role: 'sidecar',
  namespace: 'edge',
  serviceAccount: 'shop',
};
const verified = { namespace: 'edge', serviceAccount: 'ingress' };
const stored = (namespace: string, name: string): TlsSecret => ({
  name,
  certificateChain: `${namespace} chain`,
  privateKey: 'key',
});

describe('gateway credentials', () => {
  it('the credentials a configuration names: terminated gateway servers only, with their Gateway and port', () => {
    const refs = credentialReferences({ listeners });
    assert.deepEqual(
      refs.map((r) => [r.credentialName, r.gateway, r.port, r.mutual]),
      [
        ['shop-cert', 'edge/shop', 8443, false],
        ['partner-cert', 'edge/partners', 9443, true],
      ],
    );
  });

  it('a gateway verified in its namespace gets the credentials of that namespace', () => {
    const secrets = secretsFor(gateway, verified, credentialReferences({ listeners }), stored);
    assert.deepEqual(
      secrets.map((s) => [s.name, s.certificateChain]),
      [
        ['partner-cert', 'edge chain'],
        ['shop-cert', 'edge chain'],
      ],
    );
  });

  it('a sidecar, an unverified proxy (plaintext port) or one verified elsewhere gets none', () => {
    const refs = credentialReferences({ listeners });
    assert.deepEqual(secretsFor(sidecar, { namespace: 'edge', serviceAccount: 'shop' }, refs, stored), []);
    assert.deepEqual(secretsFor(gateway, undefined, refs, stored), []);
    assert.deepEqual(
      secretsFor(gateway, { namespace: 'other', serviceAccount: 'ingress' }, refs, stored),
      [],
    );
  });

  it('wants each credential once per namespace, for every verified gateway that names it', () => {
    const refs = credentialReferences({ listeners });
    const demands = credentialDemands([
      { node: gateway, peer: verified, refs },
      { node: { ...gateway, id: 'ingress-2.edge' }, peer: verified, refs },
      { node: sidecar, peer: { namespace: 'edge', serviceAccount: 'shop' }, refs },
      { node: { ...gateway, id: 'x.plain' }, refs },
    ]);
    assert.deepEqual([...demands.keys()].sort(), ['edge/partner-cert', 'edge/shop-cert']);
    assert.equal(demands.get('edge/shop-cert')!.refs.length, 1);
  });

  describe('reading Secrets', () => {
    const ca = issueCertificate({ commonName: 'ca', usage: 'ca', validDays: 1 });
    const leaf = (cn: string) => issueCertificate({ commonName: cn, usage: 'server', validDays: 1 }, ca);
    const tlsSecret = (pair: { certPem: string; keyPem: string }): V1Secret => ({
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from(pair.certPem).toString('base64'),
        'tls.key': Buffer.from(pair.keyPem).toString('base64'),
      },
    });
    const demand = new Map([
      [
        'edge/shop-cert',
        { namespace: 'edge', name: 'shop-cert', refs: credentialReferences({ listeners }).slice(0, 1) },
      ],
    ]);

    function setup() {
      const secrets = new Map<string, V1Secret>();
      const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
      const log = pino(
        { level: 'info' },
        { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]) },
      );
      const registry = new Registry();
      const credentials = new GatewayCredentials({
        read: (namespace, name) => Promise.resolve(secrets.get(`${namespace}/${name}`)),
        log,
        registry,
      });
      return { secrets, lines, registry, credentials };
    }

    it('reads a credential, reports a rotation as a change and a re-read of the same as none', async () => {
      const { secrets, credentials } = setup();
      const first = leaf('v1');
      secrets.set('edge/shop-cert', tlsSecret(first));
      assert.equal(await credentials.sync(demand), true);
      assert.equal(credentials.lookup('edge', 'shop-cert')?.certificateChain, first.certPem);
      assert.equal(await credentials.sync(demand), false);
      const second = leaf('v2');
      secrets.set('edge/shop-cert', tlsSecret(second));
      assert.equal(await credentials.sync(demand), true);
      assert.equal(credentials.lookup('edge', 'shop-cert')?.certificateChain, second.certPem);
    });

    it('keeps the last good credential when the Secret goes bad, and says so in the log, the metric and the status', async () => {
      const { secrets, credentials, lines, registry } = setup();
      const good = leaf('good');
      secrets.set('edge/shop-cert', tlsSecret(good));
      await credentials.sync(demand);
      secrets.set('edge/shop-cert', {
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': tlsSecret(good).data!['tls.crt']! },
      });
      assert.equal(await credentials.sync(demand), false);
      assert.equal(credentials.lookup('edge', 'shop-cert')?.certificateChain, good.certPem);

      const warning = lines.find((l) => l.level === 40)!;
      assert.equal(warning.gateway, 'edge/shop');
      assert.equal(warning.secret, 'edge/shop-cert');
      assert.equal(warning.secretKey, 'tls.key');
      assert.deepEqual(warning.server, { port: 8443, hosts: ['shop.example.com'], mode: 'SIMPLE' });
      assert.match(warning.msg, /has no key "tls\.key".*keeps serving the credential read before/);
      await credentials.sync(demand);
      assert.equal(lines.filter((l) => l.level === 40).length, 1, 'an unchanged problem is logged once');

      assert.match(
        await registry.metrics(),
        /weft_gateway_credential_problems\{namespace="edge",secret="shop-cert"\} 1/,
      );
      const [status] = credentials.status();
      assert.equal(status!.status, 'STALE');
      assert.match(status!.problem!, /tls\.key/);
      assert.equal(status!.certificate?.subject, 'CN=good');
      assert.doesNotMatch(JSON.stringify(credentials.status()), /PRIVATE KEY/);

      secrets.set('edge/shop-cert', tlsSecret(good));
      await credentials.sync(demand);
      assert.equal(credentials.status()[0]!.status, 'OK');
      assert.doesNotMatch(await registry.metrics(), /weft_gateway_credential_problems\{/);
    });

    it('a Secret missing from the start leaves nothing to serve (MISSING), and forgets credentials no longer wanted', async () => {
      const { credentials } = setup();
      assert.equal(await credentials.sync(demand), false);
      assert.equal(credentials.known('edge', 'shop-cert'), true);
      assert.equal(credentials.lookup('edge', 'shop-cert'), undefined);
      assert.equal(credentials.status()[0]!.status, 'MISSING');
      await credentials.sync(new Map());
      assert.equal(credentials.known('edge', 'shop-cert'), false);
    });

    it('a refused read (RBAC) is a problem naming where credentials may live', async () => {
      const registry = new Registry();
      const lines: { msg: string }[] = [];
      const credentials = new GatewayCredentials({
        read: () => Promise.reject(new Error('secrets "shop-cert" is forbidden')),
        log: pino({}, { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]) }),
        registry,
      });
      await credentials.sync(demand);
      assert.match(credentials.status()[0]!.problem!, /forbidden.*spec\.gateways\[\]\.namespace/);
    });
  });
});
