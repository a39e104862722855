import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { kubectlAsync, up } from '../cluster/local-cluster.js';
import { repoRoot } from '../cluster/paths.js';
import { ensureCluster } from '../helpers/cluster.js';
import {
  controlPlaneLogs,
  SERVING_TLS,
  SERVING_WEBHOOKS,
  startControlPlane,
  type RunningControlPlane,
} from '../helpers/control-plane.js';
import { installCrds, startOperator, type RunningOperator } from '../helpers/operator.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The platform under the demo: the local cluster, the CRDs, the control plane and the operator as
 * local processes, and the one Mesh of crds/samples/mesh.yaml, followed until it is Ready.
 */

export const MESH_FILE = join(repoRoot, 'crds', 'samples', 'mesh.yaml');
export const CONTROL_PLANE = {
  push: 'https://127.0.0.1:15012',
  monitoring: 'http://127.0.0.1:15014',
  webhooks: 'https://127.0.0.1:15017',
} as const;

export type Say = (line?: string) => void;

export interface Stack {
  readonly kc: KubeConfig;
  readonly mesh: Mesh;
  readonly meshNamespace: string;
  readonly rootCertPem: string;
  readonly operator: RunningOperator;
  controlPlane: RunningControlPlane;
}

/** The control plane, out of cluster, ready once it serves its TLS port (after the Mesh's CA exists). */
export async function startDemoControlPlane(): Promise<RunningControlPlane> {
  const cp = await startControlPlane([]);
  // Proxies need the TLS port; the traffic steps' resources need the validating webhook.
  await controlPlaneLogs(cp, SERVING_TLS);
  await controlPlaneLogs(cp, SERVING_WEBHOOKS);
  return cp;
}

async function followUntilReady(api: CustomObjectsApi, name: string, say: Say): Promise<Mesh> {
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
          say(`     ${c.type.padEnd(26)} ${c.status.padEnd(6)} ${c.reason}: ${c.message}`);
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

export async function startStack(say: Say): Promise<Stack> {
  say('1. A local Kubernetes: etcd, kube-apiserver, controller-manager, scheduler, kwok (no Docker)');
  await up((line) => say(`   ${line}`));
  const kc = await ensureCluster();

  say('2. The Weft CRDs: kubectl apply --server-side -f crds/generated/');
  await installCrds();

  say('3. The operator and the control plane, as local processes');
  const operator = await startOperator([
    `--control-plane-url=${CONTROL_PLANE.webhooks}`,
    '--leader-elect=false',
  ]);
  say(`   operator: metrics http://127.0.0.1:${operator.ports.metrics}/metrics`);

  say('4. One Mesh: kubectl apply -f crds/samples/mesh.yaml');
  const sample = parse(readFileSync(MESH_FILE, 'utf8')) as Mesh;
  const applied = await kubectlAsync(['apply', '-f', MESH_FILE]);
  if (applied.status !== 0) throw new Error(`applying ${MESH_FILE}: ${applied.stderr}`);
  const mesh = await followUntilReady(kc.makeApiClient(CustomObjectsApi), sample.metadata!.name!, say);
  const meshNamespace = mesh.spec.namespace ?? 'weft-system';
  say(`   Mesh ${mesh.metadata?.name} is ${mesh.status?.state}`);

  const controlPlane = await startDemoControlPlane();
  say(
    `   control plane: push ${CONTROL_PLANE.push} (mTLS), webhooks ${CONTROL_PLANE.webhooks}, ${CONTROL_PLANE.monitoring}/debug/proxy-status`,
  );
  const secret = await kc
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ name: 'weft-ca-secret', namespace: meshNamespace });
  const rootCertPem = Buffer.from(secret.data!['root-cert.pem']!, 'base64').toString('utf8');
  return { kc, mesh, meshNamespace, rootCertPem, operator, controlPlane };
}

export async function stopStack(stack: Stack): Promise<void> {
  await stack.operator.stop('SIGTERM');
  await stack.controlPlane.stop('SIGTERM');
}
