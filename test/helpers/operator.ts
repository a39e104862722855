import { join } from 'node:path';
import { kubectl } from '../cluster/local-cluster.js';
import { repoRoot } from '../cluster/paths.js';
import { startWeftProcess, type RunningProcess } from './process.js';
import { waitUntil } from './wait.js';

/**
 * Installs (or updates) every Weft CRD from crds/generated/, as a user would, and waits until each
 * kind can be listed: a CRD is Established before its storage finishes initialising (429 meanwhile).
 */
export async function installCrds(): Promise<void> {
  const res = kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    '-f',
    join(repoRoot, 'crds', 'generated'),
  ]);
  if (res.status !== 0) throw new Error(`installing the CRDs failed: ${res.stderr}`);
  const established = kubectl([
    'wait',
    '--for=condition=Established',
    'crd',
    '-l',
    'app.kubernetes.io/part-of=weft',
    '--timeout=30s',
  ]);
  if (established.status !== 0) throw new Error(`CRDs not established: ${established.stderr}`);
  const kinds = kubectl(['get', 'crd', '-l', 'app.kubernetes.io/part-of=weft', '-o', 'name'])
    .stdout.trim()
    .split('\n');
  const resources = kinds.map((k) => k.replace('customresourcedefinition.apiextensions.k8s.io/', ''));
  await waitUntil('every Weft resource to be listable', () => {
    const listed = kubectl(['get', resources.join(','), '-A', '-o', 'name']);
    return { done: listed.status === 0, state: listed.stderr };
  });
}

export interface RunningOperator extends RunningProcess {
  readonly ports: { readonly metrics: number; readonly probes: number };
}

/**
 * Runs the real operator process out of cluster against the local cluster, on ephemeral ports, with
 * a short leader-election lease so restarts converge quickly. Tests run the TypeScript source;
 * benchmarks run the compiled build (`npm run build`), as the image does.
 */
export async function startOperator(
  extraArgs: readonly string[] = [],
  { compiled = false, kubeconfig }: { compiled?: boolean; kubeconfig?: string } = {},
): Promise<RunningOperator> {
  const running = await startWeftProcess(
    compiled ? 'dist/operator/main.js' : 'operator/main.ts',
    [
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--leader-election-namespace=default',
      '--leader-election-lease-duration=5',
      ...extraArgs,
    ],
    '"serving metrics and probes"',
    { kubeconfig },
  );
  const line = running
    .logs()
    .split('\n')
    .find((l) => l.includes('"serving metrics and probes"'))!;
  return { ...running, ports: (JSON.parse(line) as { ports: { metrics: number; probes: number } }).ports };
}

/** Fetches a local HTTP endpoint of the operator. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}
