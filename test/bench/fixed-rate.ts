import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { correctToSchedule, parseVegetaJsonLines, type CorrectedRun } from './open-loop-results.js';

export interface FixedRateRun {
  readonly vegeta: string;
  readonly port: number;
  /** The Host header: the service name the proxies route on. */
  readonly host: string;
  readonly rate: number;
  readonly seconds: number;
  /** Where the raw results go for the run (removed after). */
  readonly workDir: string;
}

function run(command: string, args: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args[0]} exited ${code}: ${stderr}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/**
 * `rate` requests per second for `seconds` on HTTP/1.1 keep-alive connections (as many as the
 * schedule needs: vegeta opens another rather than wait), latency from the intended send time.
 */
export async function fixedRate(options: FixedRateRun): Promise<CorrectedRun> {
  const bin = join(options.workDir, `vegeta-${options.port}.bin`);
  const json = join(options.workDir, `vegeta-${options.port}.jsonl`);
  await run(
    options.vegeta,
    [
      'attack',
      `-rate=${options.rate}/s`,
      `-duration=${options.seconds}s`,
      '-http2=false',
      '-max-body=0',
      '-timeout=10s',
      '-header',
      `Host: ${options.host}`,
      `-output=${bin}`,
    ],
    `GET http://127.0.0.1:${options.port}/\n`,
  );
  await run(options.vegeta, ['encode', '-to', 'json', `-output=${json}`, bin]);
  try {
    return correctToSchedule(parseVegetaJsonLines(readFileSync(json, 'utf8')), options.rate);
  } finally {
    rmSync(bin, { force: true });
    rmSync(json, { force: true });
  }
}
