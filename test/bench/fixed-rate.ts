import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseLoadgenLines, toRun, type CorrectedRun } from './open-loop-results.js';

export interface FixedRateRun {
  /** The test/bench/loadgen binary. */
  readonly loadgen: string;
  readonly port: number;
  /** The Host header: the service name the proxies route on. */
  readonly host: string;
  readonly rate: number;
  readonly seconds: number;
  /** Every response must carry a body of this size, or it counts as an error. */
  readonly expectBytes: number;
  /** Where the raw results go for the run (removed after). */
  readonly workDir: string;
}

/**
 * `rate` requests per second for `seconds`, open model, over HTTP/1.1 keep-alive connections (as
 * many as the schedule needs), each latency measured from when the request was due.
 */
export async function fixedRate(options: FixedRateRun): Promise<CorrectedRun> {
  const out = join(options.workDir, `loadgen-${options.port}.jsonl`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      options.loadgen,
      [
        `-url=http://127.0.0.1:${options.port}/`,
        `-host=${options.host}`,
        `-rate=${options.rate}`,
        `-duration=${options.seconds}s`,
        `-expect-bytes=${options.expectBytes}`,
        `-output=${out}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`weft-loadgen exited ${code}: ${stderr}`)),
    );
  });
  try {
    return toRun(parseLoadgenLines(readFileSync(out, 'utf8')));
  } finally {
    rmSync(out, { force: true });
  }
}
