import { waitUntil } from './wait.js';

/** Reading Prometheus text exposition in tests, the demo and benchmarks: one parser for all of them. */

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** The samples of metric `name` (every sample when `name` is omitted). Pure. */
export function parseMetrics(exposition: string, name?: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of exposition.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m || (name !== undefined && m[1] !== name)) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of metric `name`'s samples whose labels include every pair of `labels`. Pure. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  return parseMetrics(exposition, name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Sum of the `weft_requests_total` samples whose labels include every pair of `labels`. Pure. */
export const requestCount = (exposition: string, labels: Record<string, string>): number =>
  metricValue(exposition, 'weft_requests_total', labels);

/**
 * Waits until metric `name`, summed over the samples whose labels include `labels`, reaches
 * `atLeast` in what `scrape` returns; on timeout it reports the value and the metric's lines.
 */
export async function metricReaches(
  what: string,
  scrape: () => string | Promise<string>,
  name: string,
  labels: Record<string, string>,
  atLeast = 1,
): Promise<void> {
  await waitUntil(`${what}: ${name} ${JSON.stringify(labels)} >= ${atLeast}`, async () => {
    const text = await scrape();
    const value = metricValue(text, name, labels);
    return {
      done: value >= atLeast,
      state: `${value}\n${text
        .split('\n')
        .filter((l) => l.startsWith(name))
        .join('\n')}`,
    };
  });
}
