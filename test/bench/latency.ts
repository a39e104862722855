/** Latency percentiles, in milliseconds, as the result schema records them. */
export interface LatencySummary {
  readonly count: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

/**
 * Nearest-rank percentile of an ascending array: the smallest value with at least p% of the samples
 * at or below it. No interpolation: a reported p99 is a latency some request really had.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summariseLatencies(latenciesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  const values = Array.from(sorted);
  return {
    count: values.length,
    p50_ms: round(percentileOfSorted(values, 50), 3),
    p90_ms: round(percentileOfSorted(values, 90), 3),
    p99_ms: round(percentileOfSorted(values, 99), 3),
    max_ms: round(values[values.length - 1] ?? Number.NaN, 3),
  };
}

export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
