import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { kubectl } from '../cluster/local-cluster.js';
import { paths, repoRoot } from '../cluster/paths.js';
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

export interface RunningOperator {
  readonly process: ChildProcess;
  readonly ports: { readonly metrics: number; readonly probes: number };
  /** Everything the operator logged so far (pino JSON lines). */
  logs(): string;
  /** Sends a signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the real operator process out of cluster against the local cluster, on
 * ephemeral ports, with a short leader-election lease so restarts converge quickly.
 */
export async function startOperator(
  extraArgs: readonly string[] = [],
  { compiled = false }: { compiled?: boolean } = {},
): Promise<RunningOperator> {
  // Tests run the TypeScript source; benchmarks run the compiled build (`npm run build`), as the image does.
  const entry = compiled
    ? [join(repoRoot, 'dist', 'operator', 'main.js')]
    : ['--import', 'tsx', join(repoRoot, 'operator', 'main.ts')];
  const child = spawn(
    process.execPath,
    [
      ...entry,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--leader-election-namespace=default',
      '--leader-election-lease-duration=5',
      ...extraArgs,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, KUBECONFIG: paths.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ports = (await waitUntil(
    'the operator to serve metrics and probes',
    () => {
      if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}:\n${output}`);
      const line = output.split('\n').find((l) => l.includes('"serving metrics and probes"'));
      const parsed = line ? (JSON.parse(line) as { ports: { metrics: number; probes: number } }) : undefined;
      return { done: !!parsed, state: parsed?.ports ?? output.slice(-2_000) };
    },
    { timeoutMs: 30_000 },
  )) as { metrics: number; probes: number };

  return {
    process: child,
    ports,
    logs: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Fetches a local HTTP endpoint of the operator. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}
