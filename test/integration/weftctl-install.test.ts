import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { kubectl } from '../cluster/local-cluster.js';
import { paths, repoRoot, weftDir } from '../cluster/paths.js';
import { createTestNamespace, ensureCluster, type TestNamespace } from '../helpers/cluster.js';
import {
  controlPlaneLogs,
  SERVING_WEBHOOKS,
  startControlPlane,
  type RunningControlPlane,
} from '../helpers/control-plane.js';
import { removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { startOperator, type RunningOperator } from '../helpers/operator.js';
import { PushTestClient } from '../helpers/push-client.js';
import { waitUntil } from '../helpers/wait.js';
import { weftctl, writeUnreachableKubeconfig } from '../helpers/weftctl.js';

/**
 * weftctl install, check and uninstall against the real local cluster. kwok plays the kubelet, so
 * the installed operator pod is Ready without running anything: the real operator and control plane
 * run here as processes against the cluster, which makes the Mesh Ready and the webhooks answer for
 * real, and check has to say which of the two it is looking at.
 */

const MONITORING = 'http://127.0.0.1:26124';
const KUBECONFIG = ['--kubeconfig', paths.kubeconfig];

/** The shared cluster without Weft: no Meshes (and their webhooks), CRDs or operator RBAC. */
async function removeWeft(kc: KubeConfig): Promise<void> {
  const crds = kubectl(['get', 'crd', 'meshes.mesh.weft.dev', '--ignore-not-found', '-o', 'name']);
  if (crds.stdout.trim() !== '') await removeLeftoverMeshes(kc);
  const deleted = kubectl(['delete', 'crd', '-l', 'app.kubernetes.io/part-of=weft', '--wait=true']);
  assert.equal(deleted.status, 0, deleted.stderr);
  kubectl(['delete', 'clusterrolebinding,clusterrole', 'weft-operator', '--ignore-not-found']);
}

const gone = (args: string[]): boolean =>
  kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']).stdout.trim() === '';

describe('weftctl install, check and uninstall', () => {
  const id = randomBytes(3).toString('hex');
  const namespace = `weftctl-install-${id}`;
  const meshFile = join(weftDir, `weftctl-install-${id}-mesh.yaml`);
  const mesh = testMesh('weftctl-install');
  const meshName = mesh.metadata.name;
  let kc: KubeConfig;
  let operator: RunningOperator | undefined;
  let controlPlane: RunningControlPlane | undefined;
  let shop: TestNamespace | undefined;
  let proxy: PushTestClient | undefined;
  const check = (...args: string[]) =>
    weftctl(['check', '-n', namespace, '--control-plane', MONITORING, ...KUBECONFIG, ...args]);

  before(async () => {
    kc = await ensureCluster();
    await removeWeft(kc);
    writeFileSync(meshFile, stringify(mesh));
  });

  after(async () => {
    proxy?.close();
    await controlPlane?.stop();
    // Whatever a failed test left, removed the way a user would, while the operator still runs.
    const left = await weftctl(['uninstall', '-n', namespace, '--force', '--timeout', '60s', ...KUBECONFIG]);
    if (left.status !== 0) console.error(`cleanup: weftctl uninstall: ${left.stdout}${left.stderr}`);
    await operator?.stop();
    await shop?.cleanup();
    kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    rmSync(meshFile, { force: true });
  });

  it('check --pre passes on a cluster without Weft', async () => {
    const res = await weftctl(['check', '--pre', '-n', namespace, ...KUBECONFIG]);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /^✔ can reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(res.stdout, /^✔ Kubernetes v1\.\d+\.\d+ is supported \(1\.29\.0 or later\)$/m);
    assert.match(res.stdout, /^✔ can create apiextensions\.k8s\.io\/customresourcedefinitions$/m);
    assert.match(res.stdout, new RegExp(`^✔ can create apps/deployments in namespace ${namespace}$`, 'm'));
    assert.match(res.stdout, /^✔ no CRD of another owner is in the way \(no Weft CRDs yet\)$/m);
    const json = await weftctl(['check', '--pre', '-o', 'json', ...KUBECONFIG]);
    assert.equal((JSON.parse(json.stdout) as { success: boolean }).success, true);
  });

  it('check --pre fails on a CRD that OLM manages, and install and uninstall leave it alone', async () => {
    const crd = parse(
      readFileSync(join(repoRoot, 'crds', 'generated', 'meshes.mesh.weft.dev.yaml'), 'utf8'),
    ) as {
      metadata: { labels: Record<string, string> };
    };
    crd.metadata.labels['operators.coreos.com/weft.operators'] = '';
    const applied = kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(crd));
    assert.equal(applied.status, 0, applied.stderr);
    try {
      const pre = await weftctl(['check', '--pre', ...KUBECONFIG]);
      assert.equal(pre.status, 1, pre.stdout + pre.stderr);
      assert.match(
        pre.stdout,
        /^× no CRD of another owner is in the way\n {4}meshes\.mesh\.weft\.dev is managed by OLM \(label operators\.coreos\.com\/weft\.operators\)\n {4}hint: A Weft installed through OLM is upgraded and removed with OLM/m,
      );
      const install = await weftctl(['install', '-n', namespace, ...KUBECONFIG]);
      assert.equal(install.status, 1, install.stdout + install.stderr);
      assert.match(
        install.stderr,
        /not installing over CRDs someone else manages: meshes\.mesh\.weft\.dev is managed by OLM/,
      );
      assert.ok(gone(['namespace', namespace]), 'nothing installed');
      const uninstall = await weftctl(['uninstall', '--yes', ...KUBECONFIG]);
      assert.equal(uninstall.status, 1, uninstall.stdout + uninstall.stderr);
      assert.match(
        uninstall.stderr,
        /not uninstalling: meshes\.mesh\.weft\.dev is managed by OLM .*removed with OLM/,
      );
      assert.ok(!gone(['crd', 'meshes.mesh.weft.dev']), "OLM's CRD left alone");
    } finally {
      assert.equal(kubectl(['delete', 'crd', 'meshes.mesh.weft.dev', '--wait=true']).status, 0);
    }
  });

  it('check says which cluster it cannot reach, and exits 3', async () => {
    const file = join(weftDir, `weftctl-install-${id}-unreachable.kubeconfig`);
    writeUnreachableKubeconfig(file);
    const res = await weftctl(['check', '--kubeconfig', file]);
    rmSync(file, { force: true });
    assert.equal(res.status, 3, res.stdout + res.stderr);
    assert.match(
      res.stdout,
      /^× can reach the Kubernetes API at https:\/\/127\.0\.0\.1:1\n {4}request to .*ECONNREFUSED.*\n {4}hint: check --kubeconfig/m,
    );
  });

  it('install applies the CRDs and the operator as weftctl and waits for them; a second install changes nothing', async () => {
    const res = await weftctl(['install', '-n', namespace, '--timeout', '2m', ...KUBECONFIG]);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /^✔ CRDs applied \(9 created\)$/m);
    assert.match(res.stdout, /^✔ CRDs established \(9\)$/m);
    assert.match(
      res.stdout,
      /^✔ operator applied: Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Deployment \(5 created\)$/m,
    );
    assert.match(
      res.stdout,
      new RegExp(`^✔ deployment ${namespace}/weft-operator available \\(1/1 ready\\)$`, 'm'),
    );
    const deployment = kubectl([
      'get',
      'deployment',
      'weft-operator',
      '-n',
      namespace,
      '-o',
      'json',
      '--show-managed-fields',
    ]);
    const managers = (
      JSON.parse(deployment.stdout) as {
        metadata: { managedFields: { manager: string; operation: string }[] };
      }
    ).metadata.managedFields;
    assert.ok(
      managers.some((m) => m.manager === 'weftctl' && m.operation === 'Apply'),
      `server-side applied by weftctl: ${JSON.stringify(managers)}`,
    );

    const again = await weftctl(['install', '-n', namespace, '--timeout', '2m', ...KUBECONFIG]);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^✔ CRDs applied \(9 unchanged\)$/m);
    assert.match(again.stdout, /^Weft \d+\.\d+\.\d+ was already installed: nothing changed\.$/m);
  });

  it('with the operator and control plane running, check passes, and says what kwok cannot show', async () => {
    operator = await startOperator([
      '--control-plane-url=https://127.0.0.1:15017',
      `--leader-election-namespace=${namespace}`,
    ]);
    const withMesh = await weftctl([
      'install',
      '-n',
      namespace,
      '--mesh',
      meshFile,
      '--timeout',
      '2m',
      ...KUBECONFIG,
    ]);
    assert.equal(withMesh.status, 0, withMesh.stdout + withMesh.stderr);
    assert.match(withMesh.stdout, new RegExp(`^✔ Mesh ${meshName} applied \\(created\\)$`, 'm'));
    assert.match(withMesh.stdout, new RegExp(`^✔ Mesh ${meshName} Ready$`, 'm'));
    assert.match(
      withMesh.stdout,
      new RegExp(`^Weft \\S+ is installed\\. Next: weftctl check -n ${namespace}\\.$`, 'm'),
    );

    controlPlane = await startControlPlane([
      '--push-plaintext-address=127.0.0.1:26120',
      '--monitoring-address=127.0.0.1:26124',
      '--webhook-address=127.0.0.1:15017',
      '--push-address=127.0.0.1:26122',
    ]);
    await controlPlaneLogs(controlPlane, SERVING_WEBHOOKS);
    shop = await createTestNamespace(kc, 'weftctl-install-shop');
    proxy = new PushTestClient('http://127.0.0.1:26120', {
      id: `reviews-v1.${shop.name}`,
      role: 'sidecar',
      namespace: shop.name,
      serviceAccount: 'reviews',
      labels: { app: 'reviews' },
    });
    proxy.connect();
    await waitUntil('the proxy to be SYNCED', async () => {
      const res = await weftctl(['proxy-status', '-o', 'json', '--control-plane', MONITORING]);
      return { done: res.status === 0 && res.stdout.includes('"SYNCED"'), state: res.stdout + res.stderr };
    });

    const res = await check();
    assert.equal(res.status, 0, res.stdout + res.stderr);
    const out = res.stdout;
    assert.match(out, /^✔ the Weft CRDs are installed and Established \(9\)$/m);
    assert.match(out, /^✔ the operator runs Weft (\S+), as weftctl \1 does$/m);
    assert.match(out, new RegExp(`^✔ Mesh ${meshName} runs Weft \\S+, as the operator does$`, 'm'));
    assert.match(
      out,
      new RegExp(`^✔ the operator Deployment ${namespace}/weft-operator is Available \\(1/1 ready\\)$`, 'm'),
    );
    // kwok: the Ready pod runs nothing, and the leader is this test's operator process.
    assert.match(
      out,
      /^‼ the operator's pods run their containers\n {4}weft-operator-\S+ run on kwok nodes/m,
    );
    assert.match(
      out,
      new RegExp(
        `^‼ an operator holds its leader-election Lease ${namespace}/weft-operator \\(held by \\S+, renewed \\d+s ago\\)\\n {4}the leader is not one of`,
        'm',
      ),
    );
    assert.match(
      out,
      new RegExp(`^✔ Mesh ${meshName} is Ready for its latest spec \\(generation 1\\)$`, 'm'),
    );
    assert.match(out, /^✔ the ValidatingWebhookConfiguration weft-validator exists, with a caBundle$/m);
    assert.match(out, /^✔ the webhooks trust the mesh root certificate$/m);
    assert.match(
      out,
      /^✔ the validating webhook rejects an invalid VirtualService \(server-side dry run\): "admission webhook "validation\.weft\.dev" denied the request: .*add up to 110/m,
    );
    assert.match(out, /^✔ the mesh root certificate is valid for \d+ more days \(until \d{4}-\d\d-\d\d\)$/m);
    assert.match(
      out,
      /^✔ the webhook serving certificate is valid for (29|30) more days \(https:\/\/127\.0\.0\.1:15017\)$/m,
    );
    assert.match(out, /^✔ the proxies run the latest configuration \(SYNCED\): 1 of 1$/m);
    assert.match(out, /^Status check results are ✔ \(0 failed, 2 warnings, \d+ passed\)$/m);

    const json = JSON.parse((await check('-o', 'json')).stdout) as {
      success: boolean;
      categories: { categoryName: string; checks: { result: string }[] }[];
    };
    assert.equal(json.success, true);
    const operatorChecks = json.categories.find((c) => c.categoryName === 'weft-operator')!.checks;
    assert.deepEqual(
      operatorChecks.map((c) => c.result),
      ['success', 'warning', 'warning'],
    );
  });

  it('check fails with exit 1 and a hint when the webhook stops answering', async () => {
    await controlPlane!.stop();
    controlPlane = undefined;
    const res = await check();
    assert.equal(res.status, 1, res.stdout + res.stderr);
    assert.match(
      res.stdout,
      /^× the validating webhook rejects an invalid VirtualService \(server-side dry run\)\n {4}.*failed calling webhook.*\n {4}hint: The API server cannot get an answer from the control plane's webhook \(port 15017\).*npm run control-plane\.$/m,
    );
    assert.match(
      res.stdout,
      /^‼ the proxies run the latest configuration \(SYNCED\)\n {4}cannot ask the control plane/m,
    );
    assert.match(res.stdout, /^Status check results are × \(1 failed, /m);
  });

  it('uninstall refuses to delete a Mesh without --yes, then removes everything; a second uninstall finds nothing', async () => {
    const refused = await weftctl(['uninstall', '-n', namespace, ...KUBECONFIG]);
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`uninstalling Weft deletes its Meshes .*: Mesh ${meshName}\\.\\nRerun with --yes`),
    );
    assert.ok(!gone(['mesh', meshName]), 'nothing deleted when refused');

    const res = await weftctl(['uninstall', '-n', namespace, '--yes', '--timeout', '2m', ...KUBECONFIG]);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, new RegExp(`^✔ Mesh ${meshName} deleted$`, 'm'));
    assert.match(
      res.stdout,
      /^✔ operator removed: Deployment, ClusterRoleBinding, ClusterRole, ServiceAccount$/m,
    );
    assert.match(res.stdout, new RegExp(`^✔ namespace ${namespace} deleted$`, 'm'));
    assert.match(res.stdout, /^✔ CRDs deleted \(9\)$/m);
    assert.match(res.stdout, /^Weft is uninstalled\.$/m);
    // The operator ran the Mesh's finalizer: its children are gone with it, and so is the install.
    assert.ok(gone(['crd', '-l', 'app.kubernetes.io/part-of=weft']), 'no Weft CRD left');
    assert.ok(
      gone(['clusterrole,clusterrolebinding', '-l', 'app.kubernetes.io/part-of=weft']),
      'no Weft RBAC left',
    );
    assert.ok(
      gone([
        'validatingwebhookconfiguration,mutatingwebhookconfiguration',
        '-l',
        'app.kubernetes.io/managed-by=weft-operator',
      ]),
    );
    assert.ok(gone(['namespace', namespace]), 'the operator namespace is gone');
    assert.ok(gone(['namespace', mesh.spec.namespace!]), "the Mesh's namespace is gone");

    const again = await weftctl(['uninstall', '-n', namespace, ...KUBECONFIG]);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(
      again.stdout,
      /^Weft is not installed on https:\/\/\S+ \(no Weft CRDs, no operator in namespace \S+\): nothing to remove\.$/m,
    );
  });

  it('check after uninstall fails, naming the missing CRDs and how to install', async () => {
    await operator?.stop();
    operator = undefined;
    const res = await check();
    assert.equal(res.status, 1, res.stdout + res.stderr);
    assert.match(
      res.stdout,
      /^× the Weft CRDs are installed and Established \(9\)\n {4}missing: authorizationpolicies\.security\.weft\.dev, .*\n {4}hint: Install Weft with weftctl install/m,
    );
  });
});
