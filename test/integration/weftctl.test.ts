import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { kubectl, kubectlAsync } from '../cluster/local-cluster.js';
import { paths, repoRoot, weftDir } from '../cluster/paths.js';
import { createTestNamespace, ensureCluster, type TestNamespace } from '../helpers/cluster.js';
import {
  controlPlaneLogs,
  SERVING_WEBHOOKS,
  startControlPlane,
  type RunningControlPlane,
} from '../helpers/control-plane.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds, startOperator, type RunningOperator } from '../helpers/operator.js';
import { PushTestClient } from '../helpers/push-client.js';
import { waitUntil } from '../helpers/wait.js';
import { weftctl, writeUnreachableKubeconfig } from '../helpers/weftctl.js';

/**
 * weftctl against the real local cluster: the install it generates brings up the operator (kwok runs
 * the pod), the operator does its whole job with nothing but that install's RBAC, analyze reads what
 * the cluster stores, and proxy-status / proxy-config read a real control plane.
 */

const PUSH = 'http://127.0.0.1:26110';
const MONITORING = 'http://127.0.0.1:26114';

const apply = async (namespace: string, manifest: object): Promise<void> => {
  const res = await kubectlAsync(['apply', '-n', namespace, '-f', '-'], JSON.stringify(manifest));
  assert.equal(res.status, 0, res.stderr);
};

/** The shell pipeline the README gives users, run as written. */
function pipeline(command: string): Promise<{ status: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd: repoRoot });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code ?? 1, output }));
  });
}

/** A kubeconfig that authenticates as a ServiceAccount, with a token from the TokenRequest API. */
function serviceAccountKubeconfig(kc: KubeConfig, namespace: string, name: string, file: string): void {
  const token = kubectl(['create', 'token', name, '-n', namespace, '--duration=1h']);
  assert.equal(token.status, 0, token.stderr);
  const cluster = kc.getCurrentCluster()!;
  const ca = cluster.caData
    ? { 'certificate-authority-data': cluster.caData }
    : { 'certificate-authority': cluster.caFile };
  const user = `system:serviceaccount:${namespace}:${name}`;
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: cluster.server, ...ca } }],
      users: [{ name: user, user: { token: token.stdout.trim() } }],
      contexts: [{ name: user, context: { cluster: 'local', user } }],
      'current-context': user,
    }),
    { mode: 0o600 },
  );
}

describe('weftctl', () => {
  const id = randomBytes(3).toString('hex');
  const operatorNamespace = `weftctl-op-${id}`;
  const saKubeconfig = join(weftDir, `weftctl-it-${id}.kubeconfig`);
  let kc: KubeConfig;
  let shop: TestNamespace;
  let meshes: MeshClient;
  let meshName = '';
  let operator: RunningOperator | undefined;
  let controlPlane: RunningControlPlane | undefined;
  const clients: PushTestClient[] = [];

  before(async () => {
    kc = await ensureCluster();
    await installCrds();
    await removeLeftoverMeshes(kc);
    meshes = new MeshClient(kc);
    shop = await createTestNamespace(kc, 'weftctl-shop');
  });

  after(async () => {
    for (const c of clients) c.close();
    await controlPlane?.stop();
    // Deleted while the operator still runs as its ServiceAccount: its finalizer needs those rights too.
    if (meshName) await meshes.deleteAndWait(meshName, 60_000);
    await operator?.stop();
    await shop?.cleanup();
    kubectl(['delete', 'namespace', operatorNamespace, '--ignore-not-found', '--wait=false']);
    kubectl(['delete', 'clusterrolebinding,clusterrole', 'weft-operator', '--ignore-not-found']);
    rmSync(saKubeconfig, { force: true });
  });

  it('analyze --cluster finds a broken VirtualService and names the resource, field and fix', async () => {
    // No Mesh yet, so no validating webhook: the API server stores what only the webhook would refuse.
    await apply(shop.name, {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews' },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            route: [
              { destination: { host: 'reviews' }, weight: 90 },
              { destination: { host: 'ratings' }, weight: 20 },
            ],
          },
        ],
      },
    });
    const found = await weftctl(['analyze', '--cluster', '-n', shop.name, '--kubeconfig', paths.kubeconfig]);
    assert.equal(found.status, 1, found.stderr);
    assert.match(
      found.stdout,
      new RegExp(
        `^Error \\[VirtualService ${shop.name}/reviews\\] spec\\.http\\[0\\]\\.route: the weights add up to 110; they must add up to 100 .*\\(cluster\\)$`,
        'm',
      ),
    );
    assert.match(found.stdout, /^1 error and 0 warnings in 1 Weft resource\.$/m);

    assert.equal(kubectl(['delete', 'virtualservice', 'reviews', '-n', shop.name]).status, 0);
    const clean = await weftctl(['analyze', '--cluster', '-n', shop.name, '--kubeconfig', paths.kubeconfig]);
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^No problems found in 0 Weft resources\.$/m);
  });

  it('analyze says which cluster it cannot reach, and exits 3', async () => {
    const file = join(weftDir, `weftctl-it-${id}-unreachable.kubeconfig`);
    writeUnreachableKubeconfig(file);
    const res = await weftctl(['analyze', '--cluster', '--kubeconfig', file]);
    rmSync(file, { force: true });
    assert.equal(res.status, 3);
    assert.match(
      res.stderr,
      /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1 .*npm run cluster -- up/,
    );
  });

  it('manifest generate | kubectl apply --server-side installs the operator, which kwok runs until Available', async () => {
    const kubectlCmd = `${paths.kubectl} --kubeconfig ${paths.kubeconfig}`;
    const installed = await pipeline(
      `node bin/weftctl.js manifest generate -n ${operatorNamespace} | ${kubectlCmd} apply --server-side -f -`,
    );
    assert.equal(installed.status, 0, installed.output);
    assert.match(
      installed.output,
      /customresourcedefinition\.apiextensions\.k8s\.io\/meshes\.mesh\.weft\.dev serverside-applied/,
    );
    assert.match(
      installed.output,
      /clusterrole\.rbac\.authorization\.k8s\.io\/weft-operator serverside-applied/,
    );
    const available = kubectl([
      'wait',
      '--for=condition=Available',
      'deployment/weft-operator',
      '-n',
      operatorNamespace,
      '--timeout=60s',
    ]);
    assert.equal(available.status, 0, available.stderr);
    // A GitOps tool re-applies this output on every sync: nothing in it drifts once applied.
    const diff = await pipeline(
      `node bin/weftctl.js manifest generate -n ${operatorNamespace} | ${kubectlCmd} diff --server-side -f -`,
    );
    assert.equal(diff.status, 0, `a second apply would change:\n${diff.output}`);
    const pod = kubectl([
      'get',
      'pods',
      '-n',
      operatorNamespace,
      '-l',
      'app.kubernetes.io/name=weft-operator',
      '-o',
      'json',
    ]);
    const pods = (JSON.parse(pod.stdout) as { items: { spec: { serviceAccountName: string } }[] }).items;
    assert.deepEqual(
      pods.map((p) => p.spec.serviceAccountName),
      ['weft-operator'],
    );
  });

  it('the operator reconciles a Mesh to Ready with nothing but the RBAC that install gave it', async () => {
    serviceAccountKubeconfig(kc, operatorNamespace, 'weft-operator', saKubeconfig);
    operator = await startOperator(
      ['--control-plane-url=https://127.0.0.1:15017', `--leader-election-namespace=${operatorNamespace}`],
      { kubeconfig: saKubeconfig },
    );
    const mesh = testMesh('weftctl');
    meshName = mesh.metadata.name;
    await meshes.create(mesh);
    await meshes.waitReady(meshName, 60_000);
    assert.doesNotMatch(operator.logs(), /forbidden/i, 'no request of the operator was refused');
    const lease = kubectl([
      'get',
      'lease',
      'weft-operator',
      '-n',
      operatorNamespace,
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ]);
    assert.notEqual(lease.stdout, '', 'the operator holds its leader-election Lease in its own namespace');
  });

  it('proxy-status and proxy-config show a proxy connected to the real control plane, SYNCED then NACK', async () => {
    controlPlane = await startControlPlane([
      `--push-plaintext-address=127.0.0.1:26110`,
      `--monitoring-address=127.0.0.1:26114`,
      '--webhook-address=127.0.0.1:15017',
      '--push-address=127.0.0.1:26112',
    ]);
    await controlPlaneLogs(controlPlane, SERVING_WEBHOOKS);
    await apply(shop.name, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reviews' },
      spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
    });
    const proxy = new PushTestClient(PUSH, {
      id: `reviews-v1.${shop.name}`,
      role: 'sidecar',
      namespace: shop.name,
      serviceAccount: 'reviews',
      labels: { app: 'reviews', version: 'v1' },
    });
    clients.push(proxy);
    proxy.connect();

    const row = new RegExp(
      `^reviews-v1\\.${shop.name}\\s+${shop.name}\\s+sidecar\\s+SYNCED\\s+(\\S+)\\s+\\1$`,
      'm',
    );
    await waitUntil('weftctl proxy-status to show the proxy SYNCED', async () => {
      const res = await weftctl(['proxy-status', '--control-plane', MONITORING]);
      return { done: res.status === 0 && row.test(res.stdout), state: res };
    });
    const table = await weftctl(['proxy-status', '--control-plane', MONITORING]);
    assert.match(table.stdout, /^NAME\s+NAMESPACE\s+ROLE\s+STATUS\s+SENT\s+ACKED$/m);

    const config = await weftctl([
      'proxy-config',
      `reviews-v1.${shop.name}`,
      '-o',
      'yaml',
      '--control-plane',
      MONITORING,
    ]);
    assert.equal(config.status, 0, config.stderr);
    const parsed = parse(config.stdout) as {
      node: { id: string; identity: string };
      listeners: { name: string }[];
    };
    assert.equal(parsed.node.id, `reviews-v1.${shop.name}`);
    assert.equal(parsed.node.identity, `spiffe://cluster.local/ns/${shop.name}/sa/reviews`);
    assert.ok(
      parsed.listeners.some((l) => l.name === 'inbound|9080'),
      'its own service is served inbound',
    );

    const count = proxy.messages.length;
    proxy.nackNext('route reviews: refused by the test');
    await apply(shop.name, {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews' },
      spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], timeout: '2s' }] },
    });
    await proxy.next(count, 'the VirtualService change');
    await waitUntil('weftctl proxy-status to show the NACK and its reason', async () => {
      const res = await weftctl(['proxy-status', '--control-plane', MONITORING]);
      const nacked = new RegExp(`^reviews-v1\\.${shop.name}\\s+\\S+\\s+sidecar\\s+NACK\\s`, 'm').test(
        res.stdout,
      );
      const reason = res.stdout.includes(`NACK reviews-v1.${shop.name}: route reviews: refused by the test`);
      return { done: nacked && reason, state: res.stdout };
    });
  });

  it('proxy-config names an unknown proxy and exits 1; an unreachable control plane exits 3 with how to start it', async () => {
    const unknown = await weftctl(['proxy-config', 'nobody.nowhere', '--control-plane', MONITORING]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no proxy "nobody\.nowhere" is connected .*weftctl proxy-status/);

    const down = await weftctl(['proxy-status', '--control-plane', 'http://127.0.0.1:26119']);
    assert.equal(down.status, 3);
    assert.match(
      down.stderr,
      /cannot reach the Weft control plane at http:\/\/127\.0\.0\.1:26119 \(ECONNREFUSED\)/,
    );
    assert.match(down.stderr, /npm run control-plane/);
  });
});
