import { KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { ensureCluster } from '../helpers/cluster.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds } from '../helpers/operator.js';
import { startWeftProcess, type RunningProcess } from '../helpers/process.js';
import { waitUntil } from '../helpers/wait.js';
import {
  namespaceManifests,
  namespaceProxies,
  virtualService,
  workloadEntry,
  type KubeObject,
} from './control-plane-fixture.js';
import { round, summariseLatencies } from './latency.js';
import { cpuSeconds, rssMiB } from './process-stats.js';
import { LoadClient } from './push-load-client.js';
import type { BenchOptions, SuiteResult } from './suite.js';

/**
 * The control-plane suite, at the scale the benchmarks issue sets: 1,000 services x 2 subsets in 10
 * namespaces (each scoped by a Sidecar to itself) and 2,000 simulated proxies speaking the real push
 * protocol over HTTP/2 from this process. Measures the full push to every proxy, then convergence of
 * single-resource changes, written to the API server in-process: a VirtualService (a full snapshot
 * to the 200 proxies of its namespace) and a WorkloadEntry address (endpoints only), each until every
 * affected proxy has ACKed, confirmed on the control plane's proxy-status. Runs the compiled control
 * plane, as in its image, with its push queue (100 proxies per event-loop turn).
 */

const NAMESPACES = 10;
const PUSH = '127.0.0.1:25110';
const MONITORING = '127.0.0.1:25114';

async function applyList(items: readonly KubeObject[]): Promise<void> {
  const res = await kubectlAsync(
    ['apply', '--server-side', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
  if (res.status !== 0) throw new Error(res.stderr);
}

/** Keeps the peak of a process's RSS, sampled twice a second. */
function rssSampler(pid: number): { peakMiB: () => number; stop: () => void } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 500);
  return { peakMiB: () => peak, stop: () => clearInterval(timer) };
}

interface Change {
  readonly kind: 'VirtualService' | 'WorkloadEntry';
  /** The object to write for round `r`. */
  readonly object: (r: number) => KubeObject;
}

/**
 * One change: write it, wait until every affected proxy received (and ACKed: the load client answers
 * at once) a new version, and return the milliseconds from the write to the last ACK.
 */
async function converge(
  objects: KubernetesObjectApi,
  affected: readonly LoadClient[],
  object: KubeObject,
): Promise<number> {
  const before = new Map(affected.map((c) => [c, c.received]));
  const started = Date.now();
  await objects.patch(object, undefined, undefined, 'weft-bench', true, PatchStrategy.ServerSideApply);
  await waitUntil(
    `the ${affected.length} affected proxies to ACK a new version after ${object.kind} ${object.metadata.name}`,
    () => {
      const waiting = affected.filter((c) => c.received <= before.get(c)!).length;
      return { done: waiting === 0, state: `${waiting} waiting` };
    },
    { timeoutMs: 120_000, intervalMs: 5 },
  );
  return Math.max(...affected.map((c) => c.lastAt)) - started;
}

/** Proxies whose ACKed version on the control plane is not the one they last received. */
async function unacked(affected: readonly LoadClient[]): Promise<number> {
  const res = await fetch(`http://${MONITORING}/debug/proxy-status`);
  const status = (await res.json()) as { id: string; status: string; acked?: string }[];
  const byId = new Map(status.map((s) => [s.id, s]));
  return affected.filter((c) => {
    const s = byId.get(c.node.id);
    return s?.status !== 'SYNCED' || s.acked !== c.lastVersion;
  }).length;
}

interface ChangeResult {
  readonly ms: number[];
  readonly unacked: number;
  readonly cpuSeconds: number;
}

async function measureChanges(
  cp: RunningProcess,
  objects: KubernetesObjectApi,
  affected: readonly LoadClient[],
  change: Change,
  rounds: number,
): Promise<ChangeResult> {
  const ms: number[] = [];
  let missing = 0;
  const cpuBefore = cpuSeconds(cp.process.pid!);
  for (let r = 0; r < rounds; r++) {
    ms.push(await converge(objects, affected, change.object(r)));
    missing += await unacked(affected);
  }
  return { ms, unacked: missing, cpuSeconds: cpuSeconds(cp.process.pid!) - cpuBefore };
}

/** Connects every proxy and waits for each one's first snapshot: the full push. */
async function fullPush(clients: readonly LoadClient[]): Promise<number> {
  const started = performance.now();
  for (const c of clients) c.connect();
  await waitUntil(
    'every proxy to receive its first snapshot',
    () => {
      const waiting = clients.filter((c) => c.received === 0).length;
      return { done: waiting === 0, state: `${waiting} waiting` };
    },
    { timeoutMs: 600_000, intervalMs: 50 },
  );
  return performance.now() - started;
}

async function setUp(
  kc: KubeConfig,
  services: number,
): Promise<{ namespaces: string[]; setupMs: number; mesh: ReturnType<typeof testMesh>; meshes: MeshClient }> {
  await installCrds();
  await removeLeftoverMeshes(kc);
  const meshes = new MeshClient(kc);
  const mesh = testMesh('bench-cp');
  await meshes.create(mesh);
  const run = Date.now().toString(36);
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-cp-${run}-${i}`);
  const perNamespace = services / NAMESPACES;
  const started = performance.now();
  for (const ns of namespaces) await kubectlAsync(['create', 'namespace', ns]);
  for (const [n, ns] of namespaces.entries())
    await applyList(namespaceManifests(ns, n * perNamespace, perNamespace));
  return { namespaces, setupMs: performance.now() - started, mesh, meshes };
}

export async function controlPlaneSuite({ quick }: BenchOptions): Promise<SuiteResult> {
  const services = 1000;
  const rounds = quick ? 4 : 20;
  const perNamespace = services / NAMESPACES;
  const kc = await ensureCluster();
  const { namespaces, setupMs, mesh, meshes } = await setUp(kc, services);
  const cp = await startWeftProcess(
    'dist/controllers/control-plane/main.js',
    [
      `--push-plaintext-address=${PUSH}`,
      `--monitoring-address=${MONITORING}`,
      '--webhook-address=off',
      '--push-address=off',
    ],
    '"discovery synced"',
  );
  const pid = cp.process.pid!;
  const rss = rssSampler(pid);
  const clients = namespaces.flatMap((ns, n) =>
    namespaceProxies(ns, n * perNamespace, perNamespace).map(
      (node) => new LoadClient(`http://${PUSH}`, node),
    ),
  );
  try {
    const idleRss = rssMiB(pid);
    const cpuStart = cpuSeconds(pid);
    const fullPushMs = await fullPush(clients);
    const fullPushCpu = cpuSeconds(pid) - cpuStart;
    const afterPushRss = rssMiB(pid);
    const pushedMiB = clients.reduce((sum, c) => sum + c.receivedChars, 0) / 2 ** 20;
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const ns0 = namespaces[0]!;
    const affected = clients.filter((c) => c.node.namespace === ns0);
    const routes = await measureChanges(
      cp,
      objects,
      affected,
      {
        kind: 'VirtualService',
        object: (r) => virtualService(ns0, 0, r % 2 === 0 ? 50 : 90),
      },
      rounds,
    );
    const endpoints = await measureChanges(
      cp,
      objects,
      affected,
      {
        kind: 'WorkloadEntry',
        object: (r) => workloadEntry(ns0, 0, 0, (r % 2) + 1),
      },
      rounds,
    );
    const idleCpuStart = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 5_000));
    const idleCpu = (cpuSeconds(pid) - idleCpuStart) / 5;
    const r = summariseLatencies(routes.ms);
    const e = summariseLatencies(endpoints.ms);
    return {
      suite: 'control-plane',
      notes: [
        `${services} services x 2 subsets (Service, DestinationRule, VirtualService, 2 WorkloadEntries each) in ${NAMESPACES} namespaces, each scoped by a Sidecar to itself; ${clients.length} simulated proxies on loopback, one HTTP/2 push stream each, all in the bench process (which competes with the control plane for the 2 cores: full_push_cpu_s is the control plane's own), answering every push with an ACK.`,
        `full push: all ${clients.length} proxies connect at once -> every one has its first snapshot (${round(pushedMiB / clients.length, 2)} MiB of JSON each, ${Math.round(pushedMiB)} MiB in all); the control plane pushes through its queue, 100 proxies per event-loop turn.`,
        `convergence: one object written to the API server (server-side apply from this process) -> all ${affected.length} proxies of its namespace ACKed a new version; ${rounds} rounds each of a VirtualService weight flip (full snapshots) and a WorkloadEntry address move (endpoints only). Includes the API server, the watch and the 100 ms debounce. After each round the control plane's /debug/proxy-status must show those proxies SYNCED at the version they received (unacked_after_convergence counts any that were not).`,
        `With ${rounds} rounds per change, p99 is the slowest round. RSS of the control plane: after discovery synced (before any proxy), after the full push, and the peak sampled every 0.5 s; CPU: seconds used by the full push and per change, and cores while idle afterwards (5 s).`,
        `Resources applied with kubectl in ${Math.round(setupMs / 1000)} s before the control plane started. Shared 2-core machine, with the local cluster's API server and etcd on it: other engineers' tests may run at the same time.`,
        'On this machine runs of this suite are serialised with integration tests by `flock /tmp/weft-it.lock` (the control plane listens on fixed ports).',
      ],
      metrics: {
        services,
        proxies: clients.length,
        full_push_ms: Math.round(fullPushMs),
        full_push_cpu_s: round(fullPushCpu, 1),
        full_push_mib: Math.round(pushedMiB),
        virtualservice_convergence_p50_ms: r.p50_ms,
        virtualservice_convergence_p99_ms: r.p99_ms,
        workloadentry_convergence_p50_ms: e.p50_ms,
        workloadentry_convergence_p99_ms: e.p99_ms,
        cpu_s_per_virtualservice_change: round(routes.cpuSeconds / rounds, 2),
        cpu_s_per_workloadentry_change: round(endpoints.cpuSeconds / rounds, 2),
        unacked_after_convergence: routes.unacked + endpoints.unacked,
        rss_mib_synced_no_proxies: Math.round(idleRss),
        rss_mib_after_full_push: Math.round(afterPushRss),
        rss_mib_peak: Math.round(rss.peakMiB()),
        idle_cpu_cores: round(idleCpu, 3),
      },
    };
  } finally {
    rss.stop();
    for (const c of clients) c.close();
    await cp.stop();
    await meshes.deleteAndWait(mesh.metadata.name, 60_000).catch(() => undefined);
    for (const ns of namespaces) await kubectlAsync(['delete', 'namespace', ns, '--wait=false']);
  }
}
