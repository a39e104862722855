import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { generateRsaKeyPem, issueCertificate } from '../../controllers/ca/issue.js';
import { signWorkloadCsr, spiffeUri, type SigningCa } from '../../controllers/ca/signer.js';
import type { SnapshotMessage } from '../../proxy/config/generated/push-protocol.js';
import { createCsr } from '../../proxy/identity/csr.js';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { SERVING_TLS } from '../helpers/control-plane.js';
import { startMeshPlatform, type MeshPlatform } from '../helpers/platform.js';
import { PushTestClient } from '../helpers/push-client.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Gateway credentials on the real local cluster: a Secret named by a Gateway server's
 * tls.credentialName reaches the gateway proxy verified in its namespace (over mTLS) and no one
 * else; a rotation follows it; a broken Secret keeps the last good credential and says so.
 */

const PUSH = 'http://127.0.0.1:27010';
const MONITORING = 'http://127.0.0.1:27014';
const TLS = 'https://127.0.0.1:27012';

const apply = async (ns: string, manifest: object): Promise<void> => {
  const res = await kubectlAsync(['apply', '-n', ns, '-f', '-'], JSON.stringify(manifest));
  assert.equal(res.status, 0, res.stderr);
};

const exampleCa = issueCertificate({ commonName: 'example-ca', usage: 'ca', validDays: 1 });
const serverCert = (cn: string) =>
  issueCertificate(
    { commonName: cn, usage: 'server', validDays: 1, dnsNames: ['shop.example.com'] },
    exampleCa,
  );
const tlsSecret = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  type: 'kubernetes.io/tls',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const withSecret = (name: string) => (m: SnapshotMessage['config']) =>
  (m.secrets ?? []).find((s) => s.name === name);

describe('gateway credentials', () => {
  let platform: MeshPlatform;
  let ns = '';
  let ca: SigningCa;
  const clients: PushTestClient[] = [];

  /** A workload certificate from the mesh CA, as the CA would issue it to `serviceAccount`. */
  function workloadTls(serviceAccount: string): { ca: string; cert: string; key: string } {
    const key = generateRsaKeyPem();
    const id = { trustDomain: 'cluster.local', namespace: ns, serviceAccount };
    return {
      ca: platform.rootPem,
      cert: signWorkloadCsr(createCsr(key, spiffeUri(id)), id, ca, 3_600_000),
      key,
    };
  }

  function connect(
    url: string,
    role: 'gateway' | 'sidecar',
    serviceAccount: string,
    labels: Record<string, string>,
    tls?: { ca: string; cert: string; key: string },
  ): PushTestClient {
    const c = new PushTestClient(
      url,
      {
        id: `${serviceAccount}-${role}-${url.slice(0, 5)}.${ns}`,
        role,
        namespace: ns,
        serviceAccount,
        labels,
      },
      tls,
    );
    clients.push(c);
    c.connect();
    return c;
  }

  before(async () => {
    platform = await startMeshPlatform(
      'gwcreds',
      [
        '--push-plaintext-address=127.0.0.1:27010',
        '--monitoring-address=127.0.0.1:27014',
        '--webhook-address=127.0.0.1:15017',
        '--push-address=127.0.0.1:27012',
      ],
      SERVING_TLS,
    );
    ns = platform.meshNamespace;
    const secret = await platform.kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: 'weft-ca-secret', namespace: ns });
    const decode = (k: string): string => Buffer.from(secret.data![k]!, 'base64').toString('utf8');
    ca = { certPem: decode('ca-cert.pem'), keyPem: decode('ca-key.pem'), chainPem: decode('cert-chain.pem') };
  });

  after(async () => {
    for (const c of clients) c.close();
    await platform?.stop();
  });

  it('sends the credential to the verified gateway only, re-reads a rotation, and keeps the last good one when it breaks', async () => {
    const v1 = serverCert('shop-v1');
    await apply(ns, tlsSecret('shop-cert', { 'tls.crt': v1.certPem, 'tls.key': v1.keyPem }));
    await apply(ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'shop' },
      spec: { selector: { app: 'shop' }, ports: [{ name: 'http', port: 9080 }] },
    });
    await apply(ns, {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'Gateway',
      metadata: { name: 'shop' },
      spec: {
        selector: { app: 'ingress' },
        servers: [
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS', targetPort: 8443 },
            hosts: ['shop.example.com'],
            tls: { mode: 'SIMPLE', credentialName: 'shop-cert' },
          },
        ],
      },
    });
    await apply(ns, {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      metadata: { name: 'shop' },
      spec: {
        hosts: ['shop.example.com'],
        gateways: ['shop'],
        http: [{ route: [{ destination: { host: 'shop', port: { number: 9080 } } }] }],
      },
    });

    const gatewayLabels = { app: 'ingress' };
    const gateway = connect(TLS, 'gateway', 'ingress', gatewayLabels, workloadTls('ingress'));
    const sidecar = connect(TLS, 'sidecar', 'shop', { app: 'shop' }, workloadTls('shop'));
    const unverified = connect(PUSH, 'gateway', 'ingress', gatewayLabels);

    const first = await gateway.snapshotWhere(
      'the gateway has shop-cert',
      (c) => !!withSecret('shop-cert')(c),
      60_000,
    );
    assert.equal(withSecret('shop-cert')(first.config)!.certificateChain, v1.certPem);
    assert.equal(withSecret('shop-cert')(first.config)!.privateKey, v1.keyPem);
    assert.ok(first.config.listeners.some((l) => l.tls?.credentialName === 'shop-cert'));

    // The plaintext gateway gets the same listener but never the key; the sidecar gets neither.
    await unverified.snapshotWhere('the unverified gateway has the TLS listener', (c) =>
      c.listeners.some((l) => l.tls?.credentialName === 'shop-cert'),
    );
    await sidecar.next(0, 'its snapshot');
    for (const c of [unverified, sidecar])
      for (const m of c.messages)
        if (m.type === 'snapshot') assert.equal(m.config.secrets, undefined, `${c.node.id} got no secrets`);

    const dumped = (await (
      await fetch(`${MONITORING}/debug/proxy-config?proxy=${encodeURIComponent(gateway.node.id)}`)
    ).json()) as { secrets?: { name: string; privateKey: string; certificateChain: string }[] };
    assert.equal(dumped.secrets?.[0]?.privateKey, '[redacted]');
    assert.equal(dumped.secrets?.[0]?.certificateChain, v1.certPem);

    // A rotation reaches the gateway at the next re-read.
    const v2 = serverCert('shop-v2');
    await apply(ns, tlsSecret('shop-cert', { 'tls.crt': v2.certPem, 'tls.key': v2.keyPem }));
    await gateway.snapshotWhere(
      'the gateway has the rotated shop-cert',
      (c) => withSecret('shop-cert')(c)?.certificateChain === v2.certPem,
      90_000,
    );

    // Broken: the key is not a key. The gateway keeps v2, and the problem shows where users look.
    const before = gateway.messages.length;
    await apply(ns, tlsSecret('shop-cert', { 'tls.crt': v2.certPem, 'tls.key': 'not a key' }));
    const status = (await waitUntil(
      'the control plane to report shop-cert as STALE',
      async () => {
        const body = (await (await fetch(`${MONITORING}/debug/gateway-credentials`)).json()) as {
          secret: string;
          status: string;
          problem?: string;
        }[];
        const entry = body.find((e) => e.secret === `${ns}/shop-cert`);
        return { done: entry?.status === 'STALE', state: entry };
      },
      { timeoutMs: 90_000 },
    )) as { problem?: string };
    assert.match(status.problem!, /key "tls\.key" is not a PEM private key/);
    const logs = platform.controlPlane.logs();
    assert.match(logs, new RegExp(`gateway credential unusable for Gateway ${ns}/shop server on port 8443`));
    assert.match(logs, /"secretKey":"tls.key"/);
    const metrics = await (await fetch(`${MONITORING}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`weft_gateway_credential_problems\\{namespace="${ns}",secret="shop-cert"\\} 1`),
    );
    for (const m of gateway.messages.slice(before))
      if (m.type === 'snapshot')
        assert.equal(
          withSecret('shop-cert')(m.config)?.certificateChain,
          v2.certPem,
          'keeps the last good one',
        );
  });
});
