import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { waitUntil } from './wait.js';

/** A standalone proxy (`--config`) running as a process of its own, on free loopback ports. */
export interface ProxyProcess {
  readonly ports: { outbound: number; inbound: number; admin: number; health: number; metrics: number };
  /** Its exit code, or null while it runs. */
  exitCode(): number | null;
  /** stdout and stderr so far. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <entry...> --config=<file>` with the configuration written to `dir`, and resolves once
 * it logs that it started (the log line carries its ports). `entry` is the bundle, or `--import tsx`
 * and proxy/main.ts.
 */
export async function startProxyProcess(
  entry: readonly string[],
  dir: string,
  config: ProxyConfig,
  args: readonly string[],
): Promise<ProxyProcess> {
  const file = join(dir, `${config.node.id}-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(file, JSON.stringify(config));
  const ports = ['outbound', 'inbound', 'admin', 'health', 'metrics'].map((p) => `--${p}-port=0`);
  const child: ChildProcess = spawn(
    process.execPath,
    [...entry, `--config=${file}`, ...ports, '--drain-ms=0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const startedLine = (): string | undefined =>
    output.split('\n').find((l) => l.includes('"weft-proxy started"'));
  await waitUntil('the proxy process to start', () => {
    if (child.exitCode !== null) throw new Error(`the proxy exited with ${child.exitCode}:\n${output}`);
    return { done: startedLine() !== undefined, state: output.slice(-2000) };
  });
  return {
    ports: (JSON.parse(startedLine()!) as { ports: ProxyProcess['ports'] }).ports,
    exitCode: () => child.exitCode,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
