import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchPki } from './bench-pki.js';
import { fixedRate } from './fixed-rate.js';
import { startHop, type RunningHop } from './hop-process.js';
import { round } from './latency.js';
import { summariseOpenLoop, type CorrectedRun } from './open-loop-results.js';
import { haproxyPath } from './peers/haproxy.js';
import { nginxPath, startUpstreamNginx } from './peers/nginx.js';
import { bundleNodeForwarder, nodePath } from './peers/node.js';
import { WEFT_PROXY_BUNDLE, weftPath } from './peers/weft.js';
import { privateRssMiB, processTree, totalCpuSeconds, totalRssMiB } from './process-stats.js';
import { scenarioTable, targetChecks, targetTable, type ScenarioEntry } from './proxy-report.js';
import type { BenchOptions, SuiteResult } from './suite.js';
import { ensureLoadgen, requireCommands, toolVersion } from './tools.js';
import {
  BODY_BYTES,
  PEERS,
  SCENARIOS,
  SERVICE_HOST,
  UPSTREAM_PORT,
  type PathContext,
  type Peer,
  type PeerPath,
  type Scenario,
} from './topology.js';
import { wrk, type WrkResult } from './wrk.js';

/**
 * The proxy suite: direct, HAProxy, nginx, bare Node and Weft in front of the same nginx upstream (1 KB
 * answers), one hop and two hops (plain, and mutual TLS between the hops), HTTP/1.1 from the
 * client. Each scenario runs every peer in turn, alternating the order between rounds, so the
 * shared machine's drift falls on all of them alike: first at a fixed 1,000 rps (open model,
 * latency from the intended send time), then at max rate (closed loop). CPU and RSS are the proxy
 * processes' own, from /proc.
 */

const RATE = 1000;
const MAX_RATE_CONNECTIONS = 32;
const MIB_TO_MB = 1.048576;

interface Plan {
  readonly scenarios: readonly Scenario[];
  readonly rounds: number;
  readonly fixedSeconds: number;
  readonly maxSeconds: number;
  readonly warmSeconds: number;
}

/** Quick keeps under two minutes: the plain one-hop and the mTLS two-hop scenarios, one round. */
export function planFor(quick: boolean): Plan {
  return quick
    ? {
        scenarios: SCENARIOS.filter((s) => s.name !== '2hop-plain'),
        rounds: 1,
        fixedSeconds: 4,
        maxSeconds: 3,
        warmSeconds: 2,
      }
    : { scenarios: SCENARIOS, rounds: 2, fixedSeconds: 10, maxSeconds: 8, warmSeconds: 3 };
}

/** One (scenario, peer, load mode) over its rounds. */
interface Tally {
  cpuSeconds: number;
  seconds: number;
  peakRssMb: number;
  readonly fixed: CorrectedRun[];
  readonly max: WrkResult[];
}

class Tallies {
  private readonly tallies = new Map<string, Tally>();

  get(name: string, peer: Peer, maxRate: boolean): Tally {
    const key = `${name}|${peer}|${maxRate}`;
    let t = this.tallies.get(key);
    if (!t) this.tallies.set(key, (t = { cpuSeconds: 0, seconds: 0, peakRssMb: 0, fixed: [], max: [] }));
    return t;
  }

  has(name: string, peer: Peer, maxRate: boolean): boolean {
    return this.tallies.has(`${name}|${peer}|${maxRate}`);
  }
}

/** Runs `work` while sampling the processes' RSS, and returns their CPU time over it. */
async function measured<T>(
  pids: readonly number[],
  work: () => Promise<T>,
): Promise<{ value: T; cpuSeconds: number; peakRssMb: number }> {
  let peak = totalRssMiB(pids);
  const timer = setInterval(() => (peak = Math.max(peak, totalRssMiB(pids))), 250);
  const before = totalCpuSeconds(pids);
  try {
    const value = await work();
    return { value, cpuSeconds: totalCpuSeconds(pids) - before, peakRssMb: peak * MIB_TO_MB };
  } finally {
    clearInterval(timer);
  }
}

/** One request through the path: it must answer 200 with the upstream's 1 KB, or nothing is measured. */
function checkPath(peer: Peer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: SERVICE_HOST } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () =>
        res.statusCode === 200 && bytes === BODY_BYTES
          ? resolve()
          : reject(
              new Error(
                `${peer} on ${port} answered ${res.statusCode} with ${bytes} bytes, not 200 with ${BODY_BYTES}`,
              ),
            ),
      );
    });
    req.on('error', (err) => reject(new Error(`${peer} on ${port}: ${err.message}`)));
    req.end();
  });
}

function pathOf(peer: Peer, ctx: PathContext): PeerPath {
  if (peer === 'haproxy') return haproxyPath(ctx);
  if (peer === 'nginx') return nginxPath(ctx);
  if (peer === 'node') return nodePath(ctx);
  if (peer === 'weft') return weftPath(ctx);
  return { entryPort: UPSTREAM_PORT, hops: [] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ScenarioRun {
  readonly ctx: PathContext;
  readonly plan: Plan;
  readonly loadgen: string;
  readonly tallies: Tallies;
  readonly idle: IdleMemory;
}

async function measureFixed(
  run: ScenarioRun,
  peer: Peer,
  port: number,
  pids: readonly number[],
): Promise<void> {
  const { plan } = run;
  const m = await measured(pids, () =>
    fixedRate({
      loadgen: run.loadgen,
      port,
      host: SERVICE_HOST,
      rate: RATE,
      seconds: plan.fixedSeconds,
      expectBytes: BODY_BYTES,
      workDir: run.ctx.dir,
    }),
  );
  const t = run.tallies.get(run.ctx.scenario.name, peer, false);
  t.fixed.push(m.value);
  t.cpuSeconds += m.cpuSeconds;
  t.seconds += plan.fixedSeconds;
  t.peakRssMb = Math.max(t.peakRssMb, m.peakRssMb);
}

async function measureMax(
  run: ScenarioRun,
  peer: Peer,
  port: number,
  pids: readonly number[],
): Promise<void> {
  const { plan } = run;
  const m = await measured(pids, () => wrk(port, SERVICE_HOST, MAX_RATE_CONNECTIONS, plan.maxSeconds));
  const t = run.tallies.get(run.ctx.scenario.name, peer, true);
  t.max.push(m.value);
  t.cpuSeconds += m.cpuSeconds;
  t.seconds += plan.maxSeconds;
  t.peakRssMb = Math.max(t.peakRssMb, m.peakRssMb);
}

/** Starts every peer's processes (hop 2 first, so hop 1 finds it), measures, stops them. */
async function runScenario(run: ScenarioRun): Promise<void> {
  const paths = new Map(PEERS.map((peer) => [peer, pathOf(peer, run.ctx)] as const));
  const running: RunningHop[] = [];
  try {
    for (const path of paths.values())
      for (const hop of [...path.hops].reverse()) running.push(await startHop(hop));
    // Settle, and let nginx fork its worker: the master listens before it does.
    await sleep(1000);
    const pids = new Map(
      [...paths].map(([peer, path]) => [
        peer,
        running.filter((h) => path.hops.includes(h.spec)).flatMap((h) => processTree(h.pid)),
      ]),
    );
    recordIdle(run, paths, running);
    for (const [peer, path] of paths) await checkPath(peer, path.entryPort);
    for (const [peer, path] of paths)
      if (peer !== 'direct')
        await wrk(path.entryPort, SERVICE_HOST, MAX_RATE_CONNECTIONS, run.plan.warmSeconds);
    for (let r = 0; r < run.plan.rounds; r++)
      for (const peer of orderFor(r))
        await measureFixed(run, peer, paths.get(peer)!.entryPort, pids.get(peer) ?? []);
    for (let r = 0; r < run.plan.rounds; r++)
      for (const peer of orderFor(r))
        await measureMax(run, peer, paths.get(peer)!.entryPort, pids.get(peer) ?? []);
  } finally {
    for (const hop of running) await hop.stop();
  }
}

/** Round 0 runs the peers in order, round 1 in reverse, and so on. */
const orderFor = (round: number): readonly Peer[] => (round % 2 === 0 ? PEERS : [...PEERS].reverse());

/** Idle memory per proxy process (hop order), MB, by peer and scenario: RSS, and the private part of it. */
interface IdleMemory {
  readonly rss: Map<Peer, Record<string, number[]>>;
  readonly private: Map<Peer, Record<string, number[]>>;
}

/** Idle RSS of each proxy process (with its workers), before any request. */
function recordIdle(run: ScenarioRun, paths: Map<Peer, PeerPath>, running: readonly RunningHop[]): void {
  const scenario = run.ctx.scenario.name;
  for (const [peer, path] of paths) {
    const trees = running.filter((h) => path.hops.includes(h.spec)).map((h) => processTree(h.pid));
    const sizes = (of?: (pid: number) => number): number[] =>
      trees.map((pids) => round(totalRssMiB(pids, of) * MIB_TO_MB, 1));
    run.idle.rss.set(peer, { ...run.idle.rss.get(peer), [scenario]: sizes() });
    run.idle.private.set(peer, { ...run.idle.private.get(peer), [scenario]: sizes(privateRssMiB) });
  }
}

function entryFor(name: string, peer: Peer, maxRate: boolean, t: Tally): ScenarioEntry {
  const proxy = peer !== 'direct';
  if (!maxRate) {
    const s = summariseOpenLoop(t.fixed, t.seconds);
    return {
      name,
      peer,
      maxRate,
      rps: s.rps,
      p50_ms: s.p50_ms,
      p90_ms: s.p90_ms,
      p99_ms: s.p99_ms,
      cpu_s_per_1k: proxy ? round(t.cpuSeconds / ((s.requests - s.errors) / 1000), 4) : null,
      rss_mb: proxy ? round(t.peakRssMb, 1) : null,
    };
  }
  const requests = t.max.reduce((sum, r) => sum + r.requests, 0);
  const mean = (f: (r: WrkResult) => number): number =>
    round(t.max.reduce((s, r) => s + f(r), 0) / t.max.length, 3);
  return {
    name,
    peer,
    maxRate,
    rps: round(requests / t.seconds),
    p50_ms: mean((r) => r.p50_ms),
    p90_ms: mean((r) => r.p90_ms),
    p99_ms: mean((r) => r.p99_ms),
    cpu_s_per_1k: proxy ? round(t.cpuSeconds / (requests / 1000), 4) : null,
    rss_mb: proxy ? round(t.peakRssMb, 1) : null,
  };
}

/** Errors and generator lag per measurement: kept out of the scenario rows, as the schema asks. */
function checkFor(name: string, peer: Peer, maxRate: boolean, t: Tally): Record<string, unknown> {
  if (!maxRate) {
    const s = summariseOpenLoop(t.fixed, t.seconds);
    return { name, peer, maxRate, requests: s.requests, errors: s.errors, send_lag_p99_ms: s.sendLagP99Ms };
  }
  const sum = (f: (r: WrkResult) => number): number => t.max.reduce((s, r) => s + f(r), 0);
  return { name, peer, maxRate, requests: sum((r) => r.requests), errors: sum((r) => r.errors) };
}

function versions(loadgen: string): Record<string, string> {
  return {
    haproxy: toolVersion('haproxy', ['-v']),
    nginx: toolVersion('nginx', ['-v']),
    weft: `${WEFT_PROXY_BUNDLE} on Node ${process.version}`,
    node: `test/bench/peers/node-forwarder.ts, bundled, on Node ${process.version}`,
    loadgen: `test/bench/loadgen built with ${toolVersion('go', ['version'])} (${loadgen})`,
    wrk: toolVersion('wrk', ['-v']),
  };
}

export async function proxySuite(options: BenchOptions): Promise<SuiteResult> {
  const plan = planFor(options.quick);
  requireCommands(['haproxy', 'nginx', 'wrk']);
  const loadgen = ensureLoadgen();
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-proxy-'));
  const tallies = new Tallies();
  const idle: IdleMemory = { rss: new Map(), private: new Map() };
  const upstream = await startUpstreamNginx(dir);
  try {
    const pki = writeBenchPki(dir);
    await bundleNodeForwarder(dir);
    for (const scenario of plan.scenarios) {
      const index = SCENARIOS.indexOf(scenario);
      console.log(`  ${scenario.name}...`);
      await runScenario({ ctx: { scenario, index, dir, pki }, plan, loadgen, tallies, idle });
    }
  } finally {
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return report(plan, tallies, idle, loadgen);
}

function report(plan: Plan, tallies: Tallies, idle: IdleMemory, loadgen: string): SuiteResult {
  const scenarios: ScenarioEntry[] = [];
  const checks: Record<string, unknown>[] = [];
  for (const s of plan.scenarios)
    for (const maxRate of [false, true])
      for (const peer of PEERS) {
        if (!tallies.has(s.name, peer, maxRate)) continue;
        scenarios.push(entryFor(s.name, peer, maxRate, tallies.get(s.name, peer, maxRate)));
        checks.push(checkFor(s.name, peer, maxRate, tallies.get(s.name, peer, maxRate)));
      }
  // The target is per proxy: the largest idle Weft process of the run (the mTLS ones hold certificates).
  const weftIdle = Object.values(idle.rss.get('weft') ?? {}).flat();
  const targets = targetChecks(scenarios, weftIdle.length > 0 ? Math.max(...weftIdle) : undefined);
  const errors = checks.reduce((s, c) => s + (c.errors as number), 0);
  const peers = Object.fromEntries(
    PEERS.filter((p) => p !== 'direct').map((p) => [
      p,
      {
        rss_idle_mb_per_process: idle.rss.get(p) ?? {},
        private_idle_mb_per_process: idle.private.get(p) ?? {},
      },
    ]),
  );
  return {
    suite: 'proxy',
    notes: notes(plan, errors),
    data: { scenarios, peers, versions: versions(loadgen), checks, targets },
    markdown: [
      '## Scenarios',
      '',
      ...scenarioTable(scenarios),
      '',
      '## Targets',
      '',
      ...targetTable(targets),
      '',
    ],
  };
}

function notes(plan: Plan, errors: number): string[] {
  return [
    `Shared 2-core machine (other engineers' tests may run at the same time; see machine.loadAverage): compare peers within a run, by ratio, not absolute figures across runs.`,
    `Client -> hop 1 [-> hop 2] -> nginx upstream (1 worker) answering 200 with ${BODY_BYTES} bytes; HTTP/1.1 keep-alive from the client, Host ${SERVICE_HOST}; all on 127.0.0.1.`,
    `Peers: direct = the client talks to the upstream (no proxy); HAProxy 1 thread; nginx 1 worker (master + worker counted); node = bare Node, a plainly written Node forwarder with none of Weft's features: node:http in, undici's Pool (request API) out, headers copied, nothing else (test/bench/peers/node-forwarder.ts, bundled like Weft); Weft = ${WEFT_PROXY_BUNDLE} (the bundle the image runs) standalone (--config), one Node process per hop.`,
    '2hop-mtls: HAProxy, nginx and bare Node hops speak HTTP/1.1 over mutual TLS (RSA 2048 certificates from one root, chain verified, nginx also checks the name); the Weft hops speak mesh mTLS (SPIFFE identities signed by the CA code, server STRICT), with HTTP/1.1 inside it (ALPN http/1.1), as an `http` service is carried in the mesh unless a DestinationRule or the Mesh upgrades it (ADR 0013).',
    `Fixed rate: ${RATE} rps for ${plan.fixedSeconds} s per round with test/bench/loadgen (open model: each request goes out when due on its own goroutine whatever earlier ones do; latency measured from when it was due, correcting coordinated omission; its pacer sleeps with nanosleep, checks[].send_lag_p99_ms says how late it sent; every body must be ${BODY_BYTES} bytes). Max rate: wrk, ${MAX_RATE_CONNECTIONS} connections, 1 thread, ${plan.maxSeconds} s per round (closed loop: its percentiles are latency at saturation, averaged over rounds, not CO-corrected).`,
    `${plan.rounds} round(s), peers in turn (order reversed each round), ${plan.warmSeconds} s of wrk warm-up per proxy first; fixed-rate percentiles pool the rounds.`,
    'cpu_s_per_1k: CPU seconds (all threads, from /proc schedstat) of every proxy process on the path, both hops summed, per 1,000 successful requests; at 1,000 rps it equals vCPU per 1,000 rps. rps per core = 1000 / cpu_s_per_1k at max rate.',
    'rss_mb: peak RSS under load of the proxy processes on the path (both hops summed), in MB (10^6 bytes); peers.*.rss_idle_mb_per_process: each process (hop order) by scenario, before its first request; the RSS target takes the largest Weft one. peers.*.private_idle_mb_per_process: the part of that RSS only the process holds (RssAnon: heap, stacks, malloc); the rest is file-backed pages of the binary and its libraries, shared through the page cache by every process running the same executable (for Node, most of its RSS). direct has no proxy: its CPU and RSS are null.',
    errors === 0
      ? 'Every request succeeded (checks[].errors).'
      : `⚠ ${errors} failed requests: see checks[].`,
  ];
}
