import { round } from './latency.js';
import type { Peer } from './topology.js';

/** One row of the proxy suite's result schema; nothing else goes in these objects. */
export interface ScenarioEntry {
  readonly name: string;
  readonly peer: Peer;
  readonly maxRate: boolean;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  /** CPU of the proxies on the path (both hops), per 1,000 requests; null for direct (no proxy). */
  readonly cpu_s_per_1k: number | null;
  /** Peak RSS of the proxies on the path under load, MB (10^6 bytes); null for direct. */
  readonly rss_mb: number | null;
}

/** A target from the proxy issue, and how the measurement compares. */
export interface TargetCheck {
  readonly target: string;
  readonly limit: number;
  readonly measured: number;
  readonly unit: string;
  readonly met: boolean;
  /** e.g. "met: 0.31 ms, 62% of the limit" or "missed by 0.42 ms (1.8x the limit)". */
  readonly verdict: string;
}

export function findEntry(
  entries: readonly ScenarioEntry[],
  name: string,
  peer: Peer,
  maxRate: boolean,
): ScenarioEntry | undefined {
  return entries.find((e) => e.name === name && e.peer === peer && e.maxRate === maxRate);
}

type Field = 'rps' | 'p50_ms' | 'p90_ms' | 'p99_ms' | 'cpu_s_per_1k' | 'rss_mb';

/** `entry`'s figure over HAProxy's in the same scenario and load mode; undefined when either is missing. */
export function ratioToHaproxy(
  entries: readonly ScenarioEntry[],
  entry: ScenarioEntry,
  field: Field,
): number | undefined {
  const haproxy = findEntry(entries, entry.name, 'haproxy', entry.maxRate);
  const mine = entry[field];
  const theirs = haproxy?.[field];
  if (mine === null || theirs === null || theirs === undefined || theirs === 0) return undefined;
  return mine / theirs;
}

/** Verdict for an upper (`atMost`) or lower (`atLeast`) bound. */
export function verdict(measured: number, limit: number, kind: 'atMost' | 'atLeast', unit: string): string {
  const met = kind === 'atMost' ? measured <= limit : measured >= limit;
  const show = (n: number): string => `${round(n, Math.abs(n) < 10 ? 3 : 0)}${unit === '' ? '' : ` ${unit}`}`;
  const times = `${round(measured / limit, 2)}x the ${kind === 'atMost' ? 'limit' : 'floor'}`;
  if (met) return `met: ${show(measured)} (${times})`;
  return `missed by ${show(Math.abs(measured - limit))}: ${show(measured)} (${times})`;
}

function check(
  target: string,
  measured: number | null | undefined,
  limit: number,
  kind: 'atMost' | 'atLeast',
  unit: string,
): TargetCheck[] {
  if (measured === null || measured === undefined || Number.isNaN(measured)) return [];
  const met = kind === 'atMost' ? measured <= limit : measured >= limit;
  return [
    { target, limit, measured: round(measured, 3), unit, met, verdict: verdict(measured, limit, kind, unit) },
  ];
}

/**
 * The proxy issue's targets against this run: added p99 of two Weft hops with mTLS over direct at
 * 1,000 rps; plain requests per proxy core at max rate; vCPU per 1,000 rps at the fixed rate (one
 * hop, plain); idle RSS of one proxy.
 */
export function targetChecks(
  entries: readonly ScenarioEntry[],
  weftIdleRssMb: number | undefined,
): TargetCheck[] {
  const weftMtls = findEntry(entries, '2hop-mtls', 'weft', false);
  const directMtls = findEntry(entries, '2hop-mtls', 'direct', false);
  const addedP99 = weftMtls && directMtls ? weftMtls.p99_ms - directMtls.p99_ms : undefined;
  const maxPlain = findEntry(entries, '1hop-plain', 'weft', true)?.cpu_s_per_1k;
  const fixedPlain = findEntry(entries, '1hop-plain', 'weft', false)?.cpu_s_per_1k;
  return [
    ...check('added p99 at 1,000 rps, two hops with mTLS', addedP99, 0.5, 'atMost', 'ms'),
    ...check('rps per core, plain', maxPlain ? 1000 / maxPlain : undefined, 15_000, 'atLeast', 'rps'),
    ...check('vCPU per 1,000 rps (one hop, plain, at 1,000 rps)', fixedPlain, 0.15, 'atMost', 'vCPU'),
    ...check('RSS idle', weftIdleRssMb, 50, 'atMost', 'MB'),
  ];
}

const fmt = (n: number | null | undefined, digits = 3): string =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : String(round(n, digits));

const times = (r: number | undefined): string => (r === undefined ? '–' : `${round(r, 2)}x`);

/** The markdown table of every scenario, with ratios to HAProxy in the same scenario and mode. */
export function scenarioTable(entries: readonly ScenarioEntry[]): string[] {
  const rows = entries.map((e) =>
    [
      e.name,
      e.peer,
      e.maxRate ? 'max rate' : '1,000 rps',
      fmt(e.rps, 0),
      fmt(e.p50_ms),
      fmt(e.p90_ms),
      fmt(e.p99_ms),
      fmt(e.cpu_s_per_1k, 4),
      fmt(e.rss_mb, 1),
      times(ratioToHaproxy(entries, e, e.maxRate ? 'rps' : 'p99_ms')),
      times(ratioToHaproxy(entries, e, 'cpu_s_per_1k')),
    ].join(' | '),
  );
  return [
    '| scenario | peer | load | rps | p50 ms | p90 ms | p99 ms | CPU s / 1k req | RSS MB | vs HAProxy (rps at max, p99 at 1k) | CPU vs HAProxy |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ];
}

export function targetTable(targets: readonly TargetCheck[]): string[] {
  return [
    '| target (proxy issue) | limit | measured | verdict |',
    '|---|---|---|---|',
    ...targets.map(
      (t) =>
        `| ${t.target} | ${t.limit} ${t.unit} | ${fmt(t.measured)} ${t.unit} | ${t.met ? '✅' : '❌'} ${t.verdict} |`,
    ),
  ];
}
