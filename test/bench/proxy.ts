import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';
import { waitUntil } from '../helpers/wait.js';
import { cpuSeconds, rssMiB } from './process-stats.js';
import type { BenchOptions, SuiteResult } from './suite.js';

/**
 * The proxy suite: Weft's proxy against HAProxy on the same machine, in the same run, in front of
 * the same nginx upstream, loaded by wrk on loopback. Throughput is closed-loop (wrk -c32) and
 * reported per proxy CPU-second, so the 2-core machine's contention is factored out; latency is
 * measured at low concurrency (wrk -c4) and reported as added over going to nginx directly.
 */

const UPSTREAM = 28080;
const WEFT = 28001;
const HAPROXY = 28002;

interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function wrk(port: number, connections: number, seconds: number): WrkResult {
  const res = spawnSync(
    'wrk',
    [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      '-H',
      'Host: svc:9080',
      `http://127.0.0.1:${port}/`,
    ],
    { encoding: 'utf8' },
  );
  if (res.status !== 0) throw new Error(`wrk failed: ${res.stderr}`);
  const out = res.stdout;
  const ms = (label: string): number => {
    const m = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return Number.NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50ms: ms('50%'),
    p99ms: ms('99%'),
    errors:
      Number(errors?.[1] ?? 0) +
      (socketErrors ? socketErrors.slice(1).reduce((s, n) => s + Number(n), 0) : 0),
  };
}

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  child.on('error', (err) => console.error(`${command}: ${err.message}`));
  return child;
}

async function listening(port: number, what: string): Promise<void> {
  await waitUntil(`${what} to listen on ${port}`, async () => {
    const ok = await fetch(`http://127.0.0.1:${port}/`, { headers: {} }).then(
      () => true,
      () => false,
    );
    return { done: ok, state: ok };
  });
}

function configs(dir: string): { nginx: string; haproxy: string; weft: string } {
  const nginx = join(dir, 'nginx.conf');
  writeFileSync(
    nginx,
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log /dev/null;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 100000;
  server { listen 127.0.0.1:${UPSTREAM}; location / { return 200 'ok\\n'; } } }
`,
  );
  const haproxy = join(dir, 'haproxy.cfg');
  writeFileSync(
    haproxy,
    `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${HAPROXY}
  default_backend be
backend be
  http-reuse always
  server nginx 127.0.0.1:${UPSTREAM}
`,
  );
  const weft = join(dir, 'weft.json');
  writeFileSync(
    weft,
    JSON.stringify({
      version: 'weft.proxy/v1',
      node: { id: 'bench.default', role: 'sidecar', namespace: 'default' },
      listeners: [
        { name: 'outbound|9080', direction: 'outbound', port: 9080, protocol: 'http', routeConfig: 'r' },
      ],
      routes: [
        {
          name: 'r',
          virtualHosts: [
            {
              name: 'svc',
              domains: ['svc', 'svc:9080'],
              routes: [{ name: 'default', matches: [], clusters: [{ cluster: 'nginx', weight: 100 }] }],
            },
          ],
        },
      ],
      clusters: [{ name: 'nginx', type: 'static', protocol: 'http' }],
      endpoints: [{ cluster: 'nginx', endpoints: [{ address: '127.0.0.1', port: UPSTREAM }] }],
      security: { mtls: { mode: 'PERMISSIVE' }, authorization: { deny: [], allow: [], audit: [] } },
    }),
  );
  return { nginx, haproxy, weft };
}

/** Runs wrk against one proxy and measures its CPU over the run. */
function measure(
  pid: number,
  port: number,
  connections: number,
  seconds: number,
): WrkResult & { cpu: number } {
  const before = cpuSeconds(pid);
  const result = wrk(port, connections, seconds);
  return { ...result, cpu: cpuSeconds(pid) - before };
}

export async function proxySuite(options: BenchOptions): Promise<SuiteResult> {
  const seconds = options.quick ? 5 : 15;
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-proxy-'));
  const files = configs(dir);
  const children: ChildProcess[] = [];
  try {
    children.push(start('nginx', ['-c', files.nginx]));
    await listening(UPSTREAM, 'nginx');
    children.push(start('haproxy', ['-f', files.haproxy]));
    const weft = start(process.execPath, [
      join(repoRoot, 'dist/proxy/main.js'),
      `--config=${files.weft}`,
      `--outbound-port=${WEFT}`,
      '--inbound-port=28006',
      '--admin-port=28000',
      '--health-port=28021',
      '--metrics-port=28090',
      '--log-level=warn',
    ]);
    children.push(weft);
    await listening(HAPROXY, 'haproxy');
    await listening(WEFT, 'weft-proxy');
    const idleRss = rssMiB(weft.pid!);
    wrk(WEFT, 32, 2); // warm-up: JIT and pools
    wrk(HAPROXY, 32, 2);
    const direct = wrk(UPSTREAM, 4, seconds);
    const weftLatency = measure(weft.pid!, WEFT, 4, seconds);
    const haLatency = measure(children[1]!.pid!, HAPROXY, 4, seconds);
    const weftLoad = measure(weft.pid!, WEFT, 32, seconds);
    const haLoad = measure(children[1]!.pid!, HAPROXY, 32, seconds);
    const loadedRss = rssMiB(weft.pid!);
    return {
      suite: 'proxy',
      notes: [
        `wrk on loopback, ${seconds} s per run, Host svc:9080, nginx upstream (1 worker) answering "ok"; HAProxy 1 thread, http-reuse always.`,
        'Throughput at 32 connections (closed loop). rps per core = requests / proxy CPU seconds.',
        'Latency at 4 connections; "added" = proxy percentile minus direct-to-nginx percentile.',
        'Plain HTTP/1.1, one hop, no mTLS: the two-hop mTLS latency target is not measured by this suite yet.',
      ],
      metrics: {
        weft_rps_32c: round(weftLoad.rps),
        weft_rps_per_core: round((weftLoad.rps * seconds) / weftLoad.cpu),
        weft_cpu_cores_at_load: round(weftLoad.cpu / seconds, 2),
        weft_vcpu_per_1000_rps: round(weftLoad.cpu / seconds / (weftLoad.rps / 1000), 3),
        weft_errors: weftLoad.errors + weftLatency.errors,
        haproxy_rps_32c: round(haLoad.rps),
        haproxy_rps_per_core: round((haLoad.rps * seconds) / haLoad.cpu),
        haproxy_vcpu_per_1000_rps: round(haLoad.cpu / seconds / (haLoad.rps / 1000), 3),
        direct_p50_ms_4c: round(direct.p50ms, 3),
        direct_p99_ms_4c: round(direct.p99ms, 3),
        weft_added_p50_ms_4c: round(weftLatency.p50ms - direct.p50ms, 3),
        weft_added_p99_ms_4c: round(weftLatency.p99ms - direct.p99ms, 3),
        haproxy_added_p50_ms_4c: round(haLatency.p50ms - direct.p50ms, 3),
        haproxy_added_p99_ms_4c: round(haLatency.p99ms - direct.p99ms, 3),
        weft_idle_rss_mib: round(idleRss, 1),
        weft_loaded_rss_mib: round(loadedRss, 1),
      },
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}

function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
