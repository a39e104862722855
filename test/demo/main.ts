import { kubectl, up } from '../cluster/local-cluster.js';
import { paths } from '../cluster/paths.js';

/**
 * `npm run demo`: the main job. Today it brings up the local cluster and shows what runs on it;
 * the operator, a Mesh, the sample application and traffic join as their issues land.
 */
async function main(): Promise<number> {
  console.log(
    'Weft demo: bringing up a local Kubernetes (etcd, kube-apiserver, controller-manager, scheduler, kwok)',
  );
  await up((line) => console.log(`  ${line}`));
  const shown = kubectl(['get', 'nodes,pods', '-A']);
  console.log(shown.stdout || shown.stderr);
  console.log(`kubectl: ${paths.kubectl} --kubeconfig ${paths.kubeconfig}`);
  console.log('stop the cluster with: npm run cluster -- down');
  return shown.status;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
