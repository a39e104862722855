import { parseArgs } from 'node:util';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { kubectl, up } from '../cluster/local-cluster.js';
import { paths, repoRoot } from '../cluster/paths.js';
import { ensureCluster } from '../helpers/cluster.js';
import { startControlPlane } from '../helpers/control-plane.js';
import { installCrds, startOperator, type RunningOperator } from '../helpers/operator.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * `npm run demo`: the main job. Brings up the local cluster, installs the CRDs, runs the control
 * plane and the operator, applies the one-resource install (crds/samples/mesh.yaml) and follows the Mesh's conditions until
 * it is Ready. The sample application, proxies and traffic join as their issues land.
 * `-- --once` exits after the summary; otherwise it stays up until Ctrl-C.
 */

const say = (line = ''): void => console.log(line);

async function followUntilReady(api: CustomObjectsApi, name: string): Promise<Mesh> {
  const seen = new Map<string, string>();
  return (await waitUntil(
    `Mesh ${name} to become Ready`,
    async () => {
      const mesh = (await api.getClusterCustomObject({
        group: 'mesh.weft.dev',
        version: 'v1alpha1',
        plural: 'meshes',
        name,
      })) as Mesh;
      for (const c of mesh.status?.conditions ?? []) {
        const line = `${c.status} ${c.reason}`;
        if (seen.get(c.type) !== line) {
          seen.set(c.type, line);
          say(`  ${c.type.padEnd(26)} ${c.status.padEnd(6)} ${c.reason}: ${c.message}`);
        }
      }
      const ready = mesh.status?.conditions?.find((c) => c.type === 'Ready');
      return {
        done: ready?.status === 'True' && mesh.status?.observedGeneration === mesh.metadata?.generation,
        state: mesh,
      };
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  )) as Mesh;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } } });
  const started = Date.now();
  say('Weft demo');
  say('1. a local Kubernetes: etcd, kube-apiserver, controller-manager, scheduler, kwok (no Docker)');
  await up((line) => say(`   ${line}`));
  const kc = await ensureCluster();

  say('2. the Weft CRDs (kubectl apply --server-side -f crds/generated/)');
  await installCrds();

  say('3. the control plane and the operator, out of cluster');
  const controlPlane = await startControlPlane(['--push-plaintext-address=127.0.0.1:15010']);
  say(
    '   control plane: push 127.0.0.1:15010, webhooks https://127.0.0.1:15017, http://127.0.0.1:15014/debug/proxy-status',
  );
  const operator: RunningOperator = await startOperator([
    '--control-plane-url=https://127.0.0.1:15017',
    '--leader-elect=false',
  ]);
  say(
    `   operator: metrics http://127.0.0.1:${operator.ports.metrics}/metrics, probes http://127.0.0.1:${operator.ports.probes}/readyz`,
  );

  say('4. one Mesh: kubectl apply -f crds/samples/mesh.yaml');
  const sample = parse(readFileSync(join(repoRoot, 'crds', 'samples', 'mesh.yaml'), 'utf8')) as Mesh;
  const applied = kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', 'mesh.yaml')]);
  if (applied.status !== 0) throw new Error(applied.stderr);
  const mesh = await followUntilReady(kc.makeApiClient(CustomObjectsApi), sample.metadata!.name!);

  say();
  say(kubectl(['get', 'mesh']).stdout.trimEnd());
  say();
  say(
    kubectl([
      'get',
      'deployments,services,poddisruptionbudgets',
      '-n',
      mesh.spec.namespace ?? 'weft-system',
    ]).stdout.trimEnd(),
  );
  say();
  say(
    `Mesh ${mesh.metadata?.name} is ${mesh.status?.state} in ${((Date.now() - started) / 1000).toFixed(1)} s; CA root SHA-256 ${mesh.status?.certificateAuthority?.rootFingerprintSHA256}`,
  );
  say('Not yet in the demo: proxies, the sample application and traffic (their issues are open).');
  say(`Look around: ${paths.kubectl} --kubeconfig ${paths.kubeconfig} describe mesh ${mesh.metadata?.name}`);

  if (!values.once) {
    say(
      'The operator and control plane keep running; Ctrl-C to stop them (the cluster stays up: npm run cluster -- down).',
    );
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  await operator.stop('SIGTERM');
  await controlPlane.stop('SIGTERM');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
