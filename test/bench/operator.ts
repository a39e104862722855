import { performance } from 'node:perf_hooks';
import { ensureCluster, listLabelled, MESH_CHILD_KINDS } from '../helpers/cluster.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds, startOperator } from '../helpers/operator.js';
import { waitUntil } from '../helpers/wait.js';
import { cpuSeconds, rssMiB } from './process-stats.js';
import type { BenchOptions, SuiteResult } from './suite.js';

const EXPECTED_CHILDREN = 15;

/**
 * The operator suite: apply a Mesh and time until every child exists and until Ready (kwok runs the
 * pods), then the operator's RSS and CPU while idle. Repeated `runs` times on a fresh Mesh each.
 */
export async function operatorSuite({ quick }: BenchOptions): Promise<SuiteResult> {
  const kc = await ensureCluster();
  await installCrds();
  await removeLeftoverMeshes(kc);
  const meshes = new MeshClient(kc);
  const operator = await startOperator(['--leader-elect=false'], { compiled: true });
  const runs = quick ? 3 : 10;
  const idleSeconds = quick ? 10 : 30;
  const childrenMs: number[] = [];
  const readyMs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const mesh = testMesh('bench');
      const started = performance.now();
      await meshes.create(mesh);
      await waitUntil(
        'every child to exist',
        async () => {
          const count = (await listLabelled(kc, MESH_CHILD_KINDS, `weft.dev/mesh=${mesh.metadata.name}`))
            .length;
          return { done: count >= EXPECTED_CHILDREN, state: count };
        },
        { timeoutMs: 60_000, intervalMs: 20 },
      );
      childrenMs.push(performance.now() - started);
      await meshes.waitReady(mesh.metadata.name, 60_000);
      readyMs.push(performance.now() - started);
      if (i === runs - 1) break;
      await meshes.deleteAndWait(mesh.metadata.name, 60_000);
    }

    // Idle: one Ready Mesh, no changes, after the namespaces of earlier runs have finished terminating.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const pid = operator.process.pid!;
    const cpuBefore = cpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idleCpu = (cpuSeconds(pid) - cpuBefore) / idleSeconds;
    const idleRss = rssMiB(pid);
    const last = (await meshes.api.listClusterCustomObject({
      group: 'mesh.weft.dev',
      version: 'v1alpha1',
      plural: 'meshes',
    })) as {
      items: { metadata: { name: string } }[];
    };
    for (const m of last.items) await meshes.deleteAndWait(m.metadata.name, 60_000);
    return {
      suite: 'operator',
      notes: [
        `${runs} runs; a fresh Mesh each (15 children), kwok reports pods Ready`,
        'the operator runs out of cluster from the compiled build (npm run build), as in its image',
      ],
      metrics: {
        apply_to_children_ms_p50: percentile(childrenMs, 50),
        apply_to_children_ms_max: round(Math.max(...childrenMs)),
        apply_to_ready_ms_p50: percentile(readyMs, 50),
        apply_to_ready_ms_max: round(Math.max(...readyMs)),
        idle_rss_mib: round(idleRss),
        idle_cpu_cores: round(idleCpu, 4),
      },
    };
  } finally {
    await operator.stop('SIGTERM');
  }
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return round(sorted[Math.max(0, index)] ?? 0);
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
