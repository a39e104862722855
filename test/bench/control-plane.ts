import { performance } from 'node:perf_hooks';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { ensureCluster } from '../helpers/cluster.js';
import { startWeftProcess } from '../helpers/process.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from '../helpers/mesh.js';
import { installCrds } from '../helpers/operator.js';
import { waitUntil } from '../helpers/wait.js';
import { LoadClient } from './push-load-client.js';
import { percentile } from './operator.js';
import { cpuSeconds, rssMiB } from './process-stats.js';
import type { BenchOptions, SuiteResult } from './suite.js';

/**
 * The control-plane suite: services with two subsets each (Service, DestinationRule,
 * VirtualService, two WorkloadEntries) in 10 namespaces, each scoped by a Sidecar to its own
 * namespace, and one simulated proxy per workload speaking the real push protocol. Measures the
 * initial full push, then convergence of single-resource changes: apply -> every affected proxy has
 * received (and ACKed) the new version. Runs the compiled control plane, as in its image.
 */

const NAMESPACES = 10;

function manifests(ns: string, first: number, count: number): object[] {
  const items: object[] = [
    {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'Sidecar',
      metadata: { name: 'default', namespace: ns },
      spec: { egress: [{ hosts: ['./*'] }] },
    },
  ];
  for (let i = first; i < first + count; i++) {
    const name = `svc${i}`;
    items.push(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: ns },
        spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080 }] },
      },
      {
        apiVersion: 'networking.weft.dev/v1',
        kind: 'DestinationRule',
        metadata: { name, namespace: ns },
        spec: {
          host: name,
          subsets: [
            { name: 'v1', labels: { version: 'v1' } },
            { name: 'v2', labels: { version: 'v2' } },
          ],
        },
      },
      {
        apiVersion: 'networking.weft.dev/v1',
        kind: 'VirtualService',
        metadata: { name, namespace: ns },
        spec: {
          hosts: [name],
          http: [
            {
              route: [
                { destination: { host: name, subset: 'v1' }, weight: 90 },
                { destination: { host: name, subset: 'v2' }, weight: 10 },
              ],
            },
          ],
        },
      },
      ...['v1', 'v2'].map((v, j) => ({
        apiVersion: 'networking.weft.dev/v1',
        kind: 'WorkloadEntry',
        metadata: { name: `${name}-${v}`, namespace: ns },
        spec: {
          address: `127.${10 + j}.${Math.floor(i / 250)}.${i % 250}`,
          labels: { app: name, version: v },
          serviceAccount: name,
        },
      })),
    );
  }
  return items;
}

async function applyList(items: object[]): Promise<void> {
  const res = await kubectlAsync(
    ['apply', '--server-side', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
  if (res.status !== 0) throw new Error(res.stderr);
}

export async function controlPlaneSuite({ quick }: BenchOptions): Promise<SuiteResult> {
  const services = quick ? 100 : 1000;
  const perNamespace = services / NAMESPACES;
  const kc = await ensureCluster();
  await installCrds();
  await removeLeftoverMeshes(kc);
  const meshes = new MeshClient(kc);
  const mesh = testMesh('bench-cp');
  await meshes.create(mesh);
  const run = Date.now().toString(36);
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-cp-${run}-${i}`);
  for (const ns of namespaces) await kubectlAsync(['create', 'namespace', ns]);
  const setupStarted = performance.now();
  for (const [n, ns] of namespaces.entries()) await applyList(manifests(ns, n * perNamespace, perNamespace));
  const setupMs = performance.now() - setupStarted;

  const cp = await startWeftProcess(
    'dist/controllers/control-plane/main.js',
    [
      '--push-plaintext-address=127.0.0.1:25110',
      '--monitoring-address=127.0.0.1:25114',
      '--webhook-address=off',
      '--push-address=off',
    ],
    '"discovery synced"',
  );
  const clients: LoadClient[] = [];
  try {
    const pid = cp.process.pid!;
    const cpuStart = cpuSeconds(pid);
    const connectStarted = performance.now();
    for (const [n, ns] of namespaces.entries()) {
      for (let i = n * perNamespace; i < (n + 1) * perNamespace; i++) {
        for (const v of ['v1', 'v2']) {
          const c = new LoadClient('http://127.0.0.1:25110', {
            id: `svc${i}-${v}.${ns}`,
            role: 'sidecar',
            namespace: ns,
            serviceAccount: `svc${i}`,
            labels: { app: `svc${i}`, version: v },
          });
          clients.push(c);
          c.connect();
        }
      }
    }
    await waitUntil(
      'every proxy to receive its first snapshot',
      () => ({
        done: clients.every((c) => c.received > 0),
        state: clients.filter((c) => c.received === 0).length,
      }),
      { timeoutMs: 600_000, intervalMs: 200 },
    );
    const fullPushMs = performance.now() - connectStarted;

    // Single-resource changes: one VirtualService weight flip in namespace 0; its proxies must converge.
    const affected = clients.filter((c) => c.node.namespace === namespaces[0]);
    const rounds = quick ? 5 : 20;
    const convergence: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const before = new Map(affected.map((c) => [c, c.received]));
      const started = Date.now();
      const w = r % 2 === 0 ? 50 : 90;
      await applyList([
        {
          apiVersion: 'networking.weft.dev/v1',
          kind: 'VirtualService',
          metadata: { name: 'svc0', namespace: namespaces[0] },
          spec: {
            hosts: ['svc0'],
            http: [
              {
                route: [
                  { destination: { host: 'svc0', subset: 'v1' }, weight: w },
                  { destination: { host: 'svc0', subset: 'v2' }, weight: 100 - w },
                ],
              },
            ],
          },
        },
      ]);
      await waitUntil(
        'the affected proxies to receive the change',
        () => ({
          done: affected.every((c) => c.received > before.get(c)!),
          state: affected.filter((c) => c.received <= before.get(c)!).length,
        }),
        { timeoutMs: 120_000, intervalMs: 5 },
      );
      convergence.push(Math.max(...affected.map((c) => c.lastAt)) - started);
    }
    const cpu = cpuSeconds(pid) - cpuStart;
    return {
      suite: 'control-plane',
      notes: [
        `${services} services x 2 subsets (Service, DestinationRule, VirtualService, 2 WorkloadEntries each) in ${NAMESPACES} namespaces scoped by Sidecars; ${clients.length} simulated proxies on loopback, one HTTP/2 session each`,
        `convergence: kubectl apply of one VirtualService -> all ${affected.length} proxies of its namespace received the new snapshot (includes the API server, the watch and the 100 ms debounce)`,
        `setting up the resources took ${Math.round(setupMs / 1000)} s`,
      ],
      metrics: {
        services,
        proxies: clients.length,
        full_push_ms: Math.round(fullPushMs),
        convergence_p50_ms: percentile(convergence, 50),
        convergence_p99_ms: percentile(convergence, 99),
        control_plane_rss_mib: Math.round(rssMiB(pid)),
        control_plane_cpu_seconds: Math.round(cpu * 10) / 10,
      },
    };
  } finally {
    for (const c of clients) c.close();
    await cp.stop();
    await meshes.deleteAndWait(mesh.metadata.name, 60_000).catch(() => undefined);
    for (const ns of namespaces) await kubectlAsync(['delete', 'namespace', ns, '--wait=false']);
  }
}
