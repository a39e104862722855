import type { ProxyStatusEntry } from '../../controllers/push/push-server.js';
import { parseMetrics } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';
import { CONTROL_PLANE } from './stack.js';
import type { RunningWorkload } from './workloads.js';

/** What the control plane and the proxies say about themselves: proxy-status and Prometheus metrics. */

export type ProxyStatus = ProxyStatusEntry;

export async function proxyStatus(): Promise<ProxyStatus[]> {
  const res = await fetch(`${CONTROL_PLANE.monitoring}/debug/proxy-status`);
  if (!res.ok) throw new Error(`proxy-status answered ${res.status}`);
  return (await res.json()) as ProxyStatus[];
}

export type SentVersions = ReadonlyMap<string, string | undefined>;

export async function sentVersions(): Promise<SentVersions> {
  return new Map((await proxyStatus()).map((s) => [s.id, s.sent]));
}

/**
 * Waits until each of `ids` is connected and SYNCED (it ACKed what it was sent); with `changedSince`,
 * also until each was sent a newer configuration than then, so a change is known to have arrived.
 */
export async function waitSynced(
  ids: readonly string[],
  what: string,
  changedSince?: SentVersions,
): Promise<ProxyStatus[]> {
  return (await waitUntil(
    what,
    async () => {
      const rows = (await proxyStatus()).filter((s) => ids.includes(s.id));
      const ok = (s: ProxyStatus): boolean =>
        s.status === 'SYNCED' && (!changedSince || s.sent !== changedSince.get(s.id));
      return { done: rows.length === ids.length && rows.every(ok), state: rows };
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  )) as ProxyStatus[];
}

export async function scrape(w: RunningWorkload): Promise<string> {
  const res = await fetch(`http://${w.workload.address}:${w.ports.metrics}/stats/prometheus`);
  return res.text();
}

/**
 * A few lines of a proxy's weft_requests_total, summed over the labels not shown: what an operator
 * would look at in Prometheus for the step. Pure over the scraped text.
 */
export function requestTotals(
  text: string,
  where: Record<string, string>,
  by: readonly string[],
): { labels: string; value: number }[] {
  const sums = new Map<string, number>();
  for (const s of parseMetrics(text, 'weft_requests_total')) {
    if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    const key = by.map((k) => `${k}="${s.labels[k] ?? ''}"`).join(',');
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return [...sums.entries()].sort().map(([labels, value]) => ({ labels, value }));
}

/** What happened between two scrapes: the totals of `after` minus those of `before`, zeros left out. Pure. */
export function requestTotalsAdded(
  before: string,
  after: string,
  where: Record<string, string>,
  by: readonly string[],
): { labels: string; value: number }[] {
  const earlier = new Map(requestTotals(before, where, by).map((t) => [t.labels, t.value]));
  return requestTotals(after, where, by)
    .map((t) => ({ labels: t.labels, value: t.value - (earlier.get(t.labels) ?? 0) }))
    .filter((t) => t.value > 0);
}
