import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchPki } from './bench-pki.js';
import { byCategory, byFile, selfTimes, type CpuProfile, type SelfTime, type Window } from './cpu-profile.js';
import { startHop, type RunningHop } from './hop-process.js';
import { round } from './latency.js';
import { startUpstreamNginx } from './peers/nginx.js';
import { weftPath } from './peers/weft.js';
import type { BenchOptions, SuiteResult } from './suite.js';
import { SCENARIOS, SERVICE_HOST, type HopProcess, type PathContext } from './topology.js';
import { requireCommands } from './tools.js';
import { wrk } from './wrk.js';

/**
 * Where the Weft proxy's time goes on its hot path: the one-hop plain and two-hop mTLS paths of the
 * proxy suite at max rate (wrk, 32 connections), every Weft process under `node --cpu-prof`, then
 * self time per function, file and category from the .cpuprofile files, counting only the samples
 * taken during the load (V8 stamps them on the monotonic clock process.hrtime reads), so start-up
 * and warm-up stay out.
 */

const PROFILED = ['1hop-plain', '2hop-mtls'];
const TOP_FUNCTIONS = 25;
const TOP_FILES = 15;

/** The same process, started under the sampling profiler, and exiting at once on SIGTERM so it writes it. */
function profiled(hop: HopProcess, dir: string): HopProcess {
  const [main, ...rest] = hop.args;
  return {
    ...hop,
    args: [
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${hop.name}.cpuprofile`,
      main!,
      ...rest,
      '--drain-ms=0',
    ],
  };
}

interface ProcessProfile {
  readonly process: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly categories: ReturnType<typeof byCategory>;
  readonly files: ReturnType<typeof byFile>;
  readonly functions: SelfTime[];
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

function summarise(dir: string, name: string, window: Window): ProcessProfile {
  const file = readdirSync(dir).find((f) => f === `${name}.cpuprofile`);
  if (!file) throw new Error(`${name} wrote no CPU profile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  if (profile.startTime > window.startUs || profile.endTime < window.endUs)
    throw new Error(
      `${name}'s profile (${profile.startTime}..${profile.endTime} µs) does not cover the load`,
    );
  const times = selfTimes(profile, window);
  const idleMs = times.filter((t) => t.category === 'idle').reduce((s, t) => s + t.ms, 0);
  const busyMs = times.reduce((s, t) => s + t.ms, 0) - idleMs;
  return {
    process: name,
    busyMs: round(busyMs),
    idleMs: round(idleMs),
    categories: byCategory(times),
    files: byFile(times).slice(0, TOP_FILES),
    functions: times.filter((t) => t.category !== 'idle').slice(0, TOP_FUNCTIONS),
  };
}

async function profileScenario(
  ctx: PathContext,
  profileDir: string,
  seconds: number,
): Promise<{ rps: number; profiles: ProcessProfile[] }> {
  // The per-file build, not the bundle the image runs: its profile attributes time to each source
  // file (the bundle's would be one file); the code on the request path is the same.
  const path = weftPath(ctx, 'dist/proxy/main.js');
  const hops = path.hops.map((h) => profiled(h, profileDir));
  const running: RunningHop[] = [];
  try {
    for (const hop of [...hops].reverse()) running.push(await startHop(hop));
    await wrk(path.entryPort, SERVICE_HOST, 32, 1);
    const startUs = monotonicUs();
    const load = await wrk(path.entryPort, SERVICE_HOST, 32, seconds);
    const window = { startUs, endUs: monotonicUs() };
    for (const hop of running) await hop.stop();
    running.length = 0;
    return { rps: round(load.rps), profiles: hops.map((h) => summarise(profileDir, h.name, window)) };
  } finally {
    for (const hop of running) await hop.stop();
  }
}

function markdown(name: string, rps: number, p: ProcessProfile): string[] {
  return [
    `## ${p.process} (${name}, ${rps} rps)`,
    '',
    `Busy ${p.busyMs} ms, idle ${p.idleMs} ms.`,
    '',
    '| category | ms | % of busy |',
    '|---|---|---|',
    ...p.categories.map((c) => `| ${c.category} | ${c.ms} | ${c.percent} |`),
    '',
    '| file | ms | % of busy |',
    '|---|---|---|',
    ...p.files.map((f) => `| ${f.file} | ${f.ms} | ${f.percent} |`),
    '',
    '| function (self time) | where | category | ms | % of busy |',
    '|---|---|---|---|---|',
    ...p.functions.map((f) => `| ${f.name} | ${f.where} | ${f.category} | ${f.ms} | ${f.percent} |`),
    '',
  ];
}

export async function proxyProfileSuite({ quick }: BenchOptions): Promise<SuiteResult> {
  const seconds = quick ? 5 : 15;
  requireCommands(['nginx', 'wrk']);
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-profile-'));
  const upstream = await startUpstreamNginx(dir);
  const runs: { scenario: string; rps: number; profiles: ProcessProfile[] }[] = [];
  try {
    const pki = writeBenchPki(dir);
    for (const name of PROFILED) {
      const scenario = SCENARIOS.find((s) => s.name === name)!;
      const ctx = { scenario, index: SCENARIOS.indexOf(scenario), dir, pki };
      runs.push({ scenario: name, ...(await profileScenario(ctx, dir, seconds)) });
    }
  } finally {
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    suite: 'proxy-profile',
    notes: [
      `node --cpu-prof (1 ms sampling) on every Weft process of the path; wrk, 32 connections, ${seconds} s after 1 s of warm-up; only samples taken during those ${seconds} s count; upstream nginx answering 1 KB. Shared 2-core machine: shares, not absolute times, carry over.`,
      'Self time: samples whose top frame is the function (time in a system call counts for the native function that made it: writev, writeLatin1String). Categories: weft = our compiled code (dist/), node = Node core JavaScript (node:...), native = builtins and C++ without a script, vm = (program), V8 work no JavaScript frame owns, gc = garbage collector.',
      'Lines are of the compiled JavaScript in dist/ (tsc keeps the structure of the TypeScript source).',
    ],
    metrics: Object.fromEntries(runs.map((r) => [`${r.scenario}_rps_under_profiler`, r.rps])),
    data: { profiles: runs },
    markdown: runs.flatMap((r) => r.profiles.flatMap((p) => markdown(r.scenario, r.rps, p))),
  };
}
