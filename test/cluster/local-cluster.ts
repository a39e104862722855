import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinaries, locateBinary, type BinaryPaths } from './binaries.js';
import { ensureClusterPki } from './cluster-pki.js';
import { apiserverUrl, clusterComponents, type Component } from './components.js';
import { portInUse, probe, waitFor, type Probe } from './health.js';
import { paths } from './paths.js';
import {
  logTail,
  runCaptured,
  runningPid,
  startDetached,
  stopProcess,
  type CapturedRun,
} from './processes.js';

/**
 * A real Kubernetes control plane on loopback, without Docker: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler as local processes, and kwok posing as the
 * kubelets of two fake nodes, so Deployments get scheduled, Running and Ready pods.
 */

export const FAKE_NODES = ['kwok-node-0', 'kwok-node-1'] as const;

type Log = (line: string) => void;

function clusterCa(): string {
  return readFileSync(join(paths.pkiDir, 'ca.crt'), 'utf8');
}

function checkHealth(component: Component, ca: string): Promise<Probe> {
  return probe(component.healthUrl, component.healthUrl.startsWith('https:') ? ca : undefined);
}

async function startComponent(component: Component, bin: BinaryPaths, ca: string, log: Log): Promise<void> {
  const binaryPath = bin[component.binary];
  const existing = runningPid(component.name, binaryPath);
  if (existing !== undefined && (await checkHealth(component, ca)).ok) {
    log(`${component.name}: already running (pid ${existing})`);
    return;
  }
  if (existing !== undefined) await stopProcess(component.name, existing);
  else if (await portInUse(component.healthUrl)) {
    throw new Error(
      `${component.name}'s address ${component.healthUrl} is already in use by a process this checkout did not start ` +
        "(another checkout's local cluster?). Stop it there with: npm run cluster -- down",
    );
  }
  const pid = startDetached(component.name, binaryPath, component.args);
  const started = Date.now();
  try {
    await waitFor(`${component.name} at ${component.healthUrl}`, () => checkHealth(component, ca), 60_000);
  } catch (err) {
    const exited = runningPid(component.name, binaryPath) === undefined;
    throw new Error(
      `${(err as Error).message}${exited ? ` (the process exited)` : ''}\n--- last lines of ${join(paths.logDir, component.name + '.log')}:\n${logTail(component.name)}`,
    );
  }
  log(`${component.name}: serving (pid ${pid}, ${Date.now() - started} ms)`);
}

export function kubectl(
  args: readonly string[],
  input?: string,
): { status: number; stdout: string; stderr: string } {
  const res = spawnSync(paths.kubectl, ['--kubeconfig', paths.kubeconfig, ...args], {
    input,
    encoding: 'utf8',
  });
  return {
    status: res.status ?? 1,
    stdout: res.stdout ?? '',
    stderr: res.stderr ?? res.error?.message ?? '',
  };
}

/**
 * kubectl without blocking the event loop: for tests that serve something (a webhook) in their own
 * process while kubectl talks to the API server, which calls back into it.
 */
export function kubectlAsync(args: readonly string[], input?: string): Promise<CapturedRun> {
  return runCaptured(paths.kubectl, ['--kubeconfig', paths.kubeconfig, ...args], { input: input ?? '' });
}

/** A fake node for kwok to manage; kwok's node-initialize Stage fills in its status and capacity. Pure. */
export function fakeNodeManifest(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    spec: {},
  };
}

function ensureFakeNodes(log: Log): void {
  const list = { apiVersion: 'v1', kind: 'List', items: FAKE_NODES.map(fakeNodeManifest) };
  const applied = kubectl(['apply', '-f', '-'], JSON.stringify(list));
  if (applied.status !== 0) throw new Error(`creating the fake nodes failed: ${applied.stderr}`);
  const waited = kubectl(['wait', '--for=condition=Ready', 'node', ...FAKE_NODES, '--timeout=60s']);
  if (waited.status !== 0)
    throw new Error(`fake nodes did not become Ready: ${waited.stderr}\n${logTail('kwok')}`);
  log(`nodes: ${FAKE_NODES.join(', ')} Ready (kwok)`);
}

/** Brings the cluster up; idempotent: components already serving are kept. */
export async function up(log: Log): Promise<void> {
  const started = Date.now();
  const bin = await ensureBinaries(log);
  const ca = ensureClusterPki();
  for (const component of clusterComponents()) await startComponent(component, bin, ca, log);
  ensureFakeNodes(log);
  log(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${apiserverUrl}`);
  log(`  export KUBECONFIG=${paths.kubeconfig}`);
  log(`  kubectl: ${paths.kubectl}`);
}

/** Stops every component (last started, first stopped) and discards etcd's data; certificates are kept. */
export async function down(log: Log): Promise<void> {
  for (const component of clusterComponents().reverse()) {
    const binaryPath = locateBinary(component.binary);
    const pid = binaryPath ? runningPid(component.name, binaryPath) : undefined;
    if (pid === undefined) continue;
    await stopProcess(component.name, pid);
    log(`${component.name}: stopped (pid ${pid})`);
  }
  rmSync(paths.etcdDataDir, { recursive: true, force: true });
  log('cluster down');
}

export interface ComponentStatus {
  readonly name: string;
  readonly pid?: number;
  readonly healthy: boolean;
  readonly detail: string;
}

export async function status(): Promise<ComponentStatus[]> {
  let ca = '';
  try {
    ca = clusterCa();
  } catch {
    /* never brought up: every component reports not running */
  }
  return Promise.all(
    clusterComponents().map(async (component) => {
      const binaryPath = locateBinary(component.binary);
      const pid = binaryPath ? runningPid(component.name, binaryPath) : undefined;
      const health =
        pid === undefined ? { ok: false, detail: 'not running' } : await checkHealth(component, ca);
      return { name: component.name, pid, healthy: health.ok, detail: health.detail };
    }),
  );
}
