import { round, summariseLatencies, type LatencySummary } from './latency.js';

/** One request as test/bench/loadgen writes it: times in microseconds from when it was due. */
export interface LoadgenResult {
  readonly seq: number;
  /** From the due time to the send: the generator's own lateness. */
  readonly lagUs: number;
  /** From the due time to the last byte of the response (coordinated omission corrected). */
  readonly latencyUs: number;
  readonly code: number;
  readonly bytes: number;
  /** Empty on success; a transport error or a body of the wrong size otherwise. */
  readonly error: string;
}

/** One run's requests: latencies of the successful ones, and the generator's lateness for all. */
export interface CorrectedRun {
  readonly requests: number;
  readonly errors: number;
  readonly latenciesMs: readonly number[];
  readonly sendLagsMs: readonly number[];
}

/** The loadgen's output: one JSON object per line. */
export function parseLoadgenLines(text: string): LoadgenResult[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LoadgenResult);
}

/** A request failed on a transport error, a wrong-sized body, or a status outside 2xx/3xx. */
export function toRun(results: readonly LoadgenResult[]): CorrectedRun {
  const latenciesMs: number[] = [];
  const sendLagsMs: number[] = [];
  let errors = 0;
  for (const r of results) {
    sendLagsMs.push(r.lagUs / 1000);
    if (r.error !== '' || r.code < 200 || r.code >= 400) errors++;
    else latenciesMs.push(r.latencyUs / 1000);
  }
  return { requests: results.length, errors, latenciesMs, sendLagsMs };
}

export interface OpenLoopSummary extends LatencySummary {
  readonly requests: number;
  readonly errors: number;
  /** Successful responses per second over the runs. */
  readonly rps: number;
  /** p99 of how late the generator sent: it stays far below the latencies when it kept its schedule. */
  readonly sendLagP99Ms: number;
}

/** Pools runs (rounds of the same measurement) into one set of percentiles. */
export function summariseOpenLoop(runs: readonly CorrectedRun[], totalSeconds: number): OpenLoopSummary {
  const latencies = runs.flatMap((r) => r.latenciesMs);
  return {
    ...summariseLatencies(latencies),
    requests: runs.reduce((s, r) => s + r.requests, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    rps: round(latencies.length / totalSeconds, 1),
    sendLagP99Ms: summariseLatencies(runs.flatMap((r) => r.sendLagsMs)).p99_ms,
  };
}
