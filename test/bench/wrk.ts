import { spawn } from 'node:child_process';
import { round } from './latency.js';

/** What a closed-loop wrk run reports. */
export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  /** Non-2xx/3xx responses plus socket errors. */
  readonly errors: number;
}

/** A wrk duration (`512.00us`, `1.20ms`, `2.01s`) in milliseconds. */
function durationMs(value: string, unit: string): number {
  const scale = unit === 'us' ? 0.001 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1;
  return round(Number(value) * scale, 3);
}

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const ms = (label: string): number => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? durationMs(m[1]!, m[2]!) : Number.NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((s, n) => s + Number(n), 0) : 0;
  return {
    requests: Number(/(\d+) requests in /.exec(out)?.[1] ?? Number.NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50_ms: ms('50%'),
    p90_ms: ms('90%'),
    p99_ms: ms('99%'),
    errors: non2xx + socketErrors,
  };
}

/** Closed loop: `connections` connections each sending its next request when the last is answered. */
export function wrk(port: number, host: string, connections: number, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'wrk',
      [
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--latency',
        '-H',
        `Host: ${host}`,
        `http://127.0.0.1:${port}/`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', (err) => reject(new Error(`wrk: ${err.message} (apt-get install -y wrk)`)));
    child.on('exit', (code) =>
      code === 0 ? resolve(parseWrk(out)) : reject(new Error(`wrk exited ${code}: ${out}`)),
    );
  });
}
