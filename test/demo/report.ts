import type { Check, StepOutcome } from './context.js';
import { byVersion, failed, identities, percentile, type Sample } from './traffic.js';

/** What the demo prints and writes: pure functions from what was measured to text and JSON. */

export interface DemoSummary {
  meshReady: boolean;
  proxies: { connected: number; synced: number };
  traffic: { requests: number; failed: number; byVersion: Record<string, number> };
  checks: Check[];
  durationSeconds: number;
}

export function summarise(
  meshReady: boolean,
  proxies: DemoSummary['proxies'],
  all: readonly Sample[],
  checks: readonly Check[],
  durationSeconds: number,
): DemoSummary {
  return {
    meshReady,
    proxies,
    traffic: { requests: all.length, failed: failed(all).length, byVersion: byVersion(all) },
    checks: [...checks],
    durationSeconds,
  };
}

/** The lines under a step: requests, errors, latency, the reviews split, and identities new to the demo. */
export function stepLines(outcome: StepOutcome, identitiesSeen: Set<string>): string[] {
  const { samples } = outcome;
  const lines: string[] = [];
  if (samples.length) {
    const bad = failed(samples).length;
    const split = Object.entries(byVersion(samples))
      .sort()
      .map(([v, n]) => `${v} ${n}`)
      .join(' · ');
    lines.push(
      `${samples.length} requests · ${bad} failed (${((100 * bad) / samples.length).toFixed(1)}%) · p50 ${percentile(samples, 50).toFixed(0)} ms · p99 ${percentile(samples, 99).toFixed(0)} ms${split ? ` · reviews ${split}` : ''}`,
    );
  }
  const fresh = identities(samples).filter((i) => !identitiesSeen.has(i));
  for (const i of fresh) identitiesSeen.add(i);
  if (fresh.length)
    lines.push(
      'identities (callee ← caller, as the callee’s proxy verified it):',
      ...fresh.map((i) => `  ${i}`),
    );
  lines.push(...(outcome.notes ?? []));
  return lines;
}

export function metricsLines(
  workload: string,
  totals: readonly { labels: string; value: number }[],
): string[] {
  if (!totals.length) return [];
  return [
    `metrics: what the step added to weft_requests_total at ${workload}'s proxy`,
    ...totals.slice(0, 6).map((t) => `  {${t.labels}} ${t.value}`),
  ];
}

export function checkLine(check: Check): string {
  return `${check.passed ? '✓' : '✗'} ${check.name}: ${check.detail}`;
}

export function summaryLines(summary: DemoSummary): string[] {
  const passed = summary.checks.filter((c) => c.passed).length;
  const split = Object.entries(summary.traffic.byVersion)
    .sort()
    .map(([v, n]) => `${v} ${n}`)
    .join(' · ');
  return [
    `Mesh Ready: ${summary.meshReady ? 'yes' : 'no'} · proxies connected ${summary.proxies.connected}, synced ${summary.proxies.synced}`,
    `Traffic: ${summary.traffic.requests} requests, ${summary.traffic.failed} failed · reviews ${split}`,
    `Checks: ${passed} of ${summary.checks.length} passed in ${summary.durationSeconds.toFixed(0)} s`,
    ...summary.checks.map(checkLine),
  ];
}
