import { round, summariseLatencies, type LatencySummary } from './latency.js';

/** One request of an open-model run, as `vegeta encode -to json` writes it. */
export interface Hit {
  readonly seq: number;
  /** When the request actually went out, in microseconds since the epoch. */
  readonly sentAtUs: number;
  readonly latencyUs: number;
  readonly code: number;
  readonly error: string;
}

/**
 * RFC 3339 with up to nine fraction digits (Go trims trailing zeros) to microseconds since the epoch.
 * Date.parse stops at milliseconds, so the fraction is read by hand.
 */
export function rfc3339ToMicros(timestamp: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${timestamp}`);
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) throw new Error(`not an RFC 3339 timestamp: ${timestamp}`);
  const fractionUs = Number((m[2] ?? '').padEnd(9, '0').slice(0, 6));
  return seconds * 1000 + fractionUs;
}

/** `vegeta encode -to json` output: one JSON object per line. */
export function parseVegetaJsonLines(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as {
      seq: number;
      timestamp: string;
      latency: number;
      code: number;
      error: string;
    };
    hits.push({
      seq: r.seq,
      sentAtUs: rfc3339ToMicros(r.timestamp),
      latencyUs: r.latency / 1000,
      code: r.code,
      error: r.error,
    });
  }
  return hits;
}

/** One run's requests, latencies corrected to their intended send times. */
export interface CorrectedRun {
  readonly requests: number;
  readonly errors: number;
  /** Successful requests only. */
  readonly latenciesMs: readonly number[];
  /** How late each request went out against the generator's own schedule. */
  readonly sendLagsMs: readonly number[];
}

/**
 * Latency measured from when each request was meant to go out, not from when it did (Gil Tene's
 * coordinated-omission correction, as wrk2 does it). Request `seq` of a constant-rate run is due at
 * start + seq / rate; the start is taken as the one that makes no request early, so any stall of the
 * generator or the system under test shows up in the latency instead of being skipped over.
 * Failed requests count as errors and are left out of the latencies.
 */
export function correctToSchedule(hits: readonly Hit[], ratePerSecond: number): CorrectedRun {
  const intervalUs = 1_000_000 / ratePerSecond;
  let startUs = Number.POSITIVE_INFINITY;
  for (const h of hits) startUs = Math.min(startUs, h.sentAtUs - h.seq * intervalUs);
  const latenciesMs: number[] = [];
  const sendLagsMs: number[] = [];
  let errors = 0;
  for (const h of hits) {
    const lagUs = h.sentAtUs - (startUs + h.seq * intervalUs);
    sendLagsMs.push(lagUs / 1000);
    if (h.code < 200 || h.code >= 400 || h.error !== '') errors++;
    else latenciesMs.push((lagUs + h.latencyUs) / 1000);
  }
  return { requests: hits.length, errors, latenciesMs, sendLagsMs };
}

export interface OpenLoopSummary extends LatencySummary {
  readonly requests: number;
  readonly errors: number;
  /** Successful responses per second over the runs. */
  readonly rps: number;
  /** p99 of how late the generator sent: large values mean it could not keep up. */
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
