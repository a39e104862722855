import assert from 'node:assert/strict';
import type { Server } from 'node:https';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import pino from 'pino';
import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import { startWebhookServer } from '../../webhooks/server.js';
import { validators } from '../../webhooks/validation/index.js';
import { issueCertificate } from '../../controllers/ca/issue.js';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { repoRoot } from '../cluster/paths.js';
import { createTestNamespace, ensureCluster, type TestNamespace } from '../helpers/cluster.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds, startOperator, type RunningOperator } from '../helpers/operator.js';

/**
 * The traffic and security APIs on the real API server: valid resources are accepted; invalid ones
 * are refused by the schema, by CEL, or by the validating webhook (served here by the real webhook
 * server, with a serving certificate from the mesh CA the operator created), each naming the field.
 */

const WEBHOOK_PORT = 15017;

describe('traffic API validation', () => {
  let kc: KubeConfig;
  let ns: TestNamespace;
  let operator: RunningOperator;
  let webhook: Server;
  const meshes = { client: undefined as MeshClient | undefined, name: '' };
  const destinationRules: DestinationRule[] = [];

  before(async () => {
    kc = await ensureCluster();
    await installCrds();
    await removeLeftoverMeshes(kc);
    operator = await startOperator([
      `--control-plane-url=https://127.0.0.1:${WEBHOOK_PORT}`,
      '--leader-elect=false',
    ]);
    const client = new MeshClient(kc);
    const mesh = testMesh('validation');
    meshes.client = client;
    meshes.name = mesh.metadata.name;
    await client.create(mesh);
    await client.waitReady(mesh.metadata.name);

    const secret = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: 'weft-ca-secret', namespace: mesh.spec.namespace! });
    const decode = (key: string): string => Buffer.from(secret.data![key]!, 'base64').toString('utf8');
    const serving = issueCertificate(
      {
        commonName: 'weft-webhooks',
        usage: 'server',
        validDays: 1,
        ipAddresses: ['127.0.0.1'],
        dnsNames: ['localhost'],
      },
      { certPem: decode('ca-cert.pem'), keyPem: decode('ca-key.pem') },
    );
    webhook = await startWebhookServer({
      host: '127.0.0.1',
      port: WEBHOOK_PORT,
      cert: serving.certPem,
      key: serving.keyPem,
      validators: validators({ destinationRules: () => destinationRules }),
      // Validation only: this suite creates no pods, so the injector has no Mesh settings to use.
      injectionSettings: () => undefined,
      log: pino({ level: 'silent' }),
    });
    ns = await createTestNamespace(kc, 'traffic');
  });

  after(async () => {
    await ns?.cleanup();
    if (meshes.client) await meshes.client.deleteAndWait(meshes.name);
    await new Promise((resolve) => webhook?.close(resolve));
    await operator?.stop('SIGTERM');
  });

  // kubectl runs asynchronously: the API server calls back into this process's webhook server.
  const apply = (
    manifest: object,
    dryRun = true,
  ): Promise<{ status: number; stdout: string; stderr: string }> =>
    kubectlAsync(
      ['apply', '-n', ns.name, ...(dryRun ? ['--dry-run=server'] : []), '-f', '-'],
      JSON.stringify(manifest),
    );

  it('accepts every bookinfo, networking and security sample', async () => {
    for (const dir of ['bookinfo', 'networking', 'security']) {
      // Each sample goes to the test namespace (some are written for the mesh namespace).
      const items = readdirSync(join(repoRoot, 'crds', 'samples', dir)).flatMap((file) =>
        parseAllDocuments(readFileSync(join(repoRoot, 'crds', 'samples', dir, file), 'utf8'))
          .map((doc) => doc.toJS() as KubernetesObject | null)
          .filter((o): o is KubernetesObject => !!o?.kind)
          .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns.name } })),
      );
      assert.ok(items.length > 0, dir);
      const res = await apply({ apiVersion: 'v1', kind: 'List', items });
      assert.equal(res.status, 0, `${dir}: ${res.stderr}`);
      assert.equal(res.stdout.trim().split('\n').length, items.length, res.stdout);
    }
  });

  const vs = (http: object[]): object => ({
    apiVersion: 'networking.weft.dev/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews' },
    spec: { hosts: ['reviews'], http },
  });

  it('refuses by schema: a weight over 100', async () => {
    const res = await apply(vs([{ route: [{ destination: { host: 'reviews' }, weight: 150 }] }]));
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /spec\.http\[0\]\.route\[0\]\.weight: Invalid value: 150/);
  });

  it('refuses by CEL: a string match with both exact and prefix', async () => {
    const res = await apply(
      vs([
        { match: [{ uri: { exact: '/a', prefix: '/b' } }], route: [{ destination: { host: 'reviews' } }] },
      ]),
    );
    assert.notEqual(res.status, 0);
    assert.match(
      res.stderr,
      /spec\.http\[0\]\.match\[0\]\.uri: Invalid value: .*at most one of exact, prefix or regex/,
    );
  });

  it('refuses by webhook: a regex that does not compile, and weights that do not add up', async () => {
    const res = await apply(
      vs([
        {
          match: [{ uri: { regex: '^/(api' } }],
          route: [
            { destination: { host: 'reviews' }, weight: 50 },
            { destination: { host: 'ratings' }, weight: 40 },
          ],
        },
      ]),
    );
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /admission webhook "validation\.weft\.dev" denied the request/);
    assert.match(
      res.stderr,
      new RegExp(
        `VirtualService ${ns.name}/reviews: spec\\.http\\[0\\]\\.match\\[0\\]\\.uri\\.regex: "\\^/\\(api" is not a valid regular expression`,
      ),
    );
    assert.match(res.stderr, /spec\.http\[0\]\.route: the weights add up to 90; they must add up to 100/);
  });

  it('admits with a warning a route to a subset no DestinationRule defines', async () => {
    const res = await apply(vs([{ route: [{ destination: { host: 'reviews', subset: 'v7' } }] }]), false);
    assert.equal(res.status, 0, res.stderr);
    assert.match(
      res.stderr,
      /Warning: VirtualService .*spec\.http\[0\]\.route\[0\]\.destination\.subset: no DestinationRule for reviews defines subset "v7"/,
    );
  });

  it('refuses an AuthorizationPolicy that asks for what Weft cannot enforce', async () => {
    const res = await apply({
      apiVersion: 'security.weft.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'jwt-only' },
      spec: { action: 'ALLOW', rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] },
    });
    assert.notEqual(res.status, 0);
    assert.match(
      res.stderr,
      /spec\.rules\[0\]\.from\[0\]\.source\.requestPrincipals: request principals need JWT authentication/,
    );
  });
});
