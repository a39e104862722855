import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'node:net';
import { waitUntil } from '../helpers/wait.js';
import type { HopProcess } from './topology.js';

/** A started proxy process; `stop` resolves once it has exited. */
export interface RunningHop {
  readonly spec: HopProcess;
  readonly pid: number;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Writes the process's files, starts it, and waits until its port accepts connections (a TCP
 * connect: a TLS frontend answers no plaintext request) while it is still running. Its standard
 * error is kept for the report if it dies first.
 */
export async function startHop(spec: HopProcess): Promise<RunningHop> {
  // Else the check below would pass on someone else's listener and the run measure it.
  if (await accepts(spec.port))
    throw new Error(
      `port ${spec.port} (${spec.name}) is already in use: is an earlier bench run still going?`,
    );
  for (const f of spec.files) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.content);
  }
  const child = spawn(spec.command, [...spec.args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  child.on('error', (err) => (stderr += `\n${err.message}`));
  await waitUntil(
    `${spec.name} to listen on ${spec.port}`,
    async () => {
      if (child.exitCode !== null || child.pid === undefined)
        throw new Error(`${spec.name} exited ${child.exitCode}: ${stderr}`);
      const listening = await accepts(spec.port);
      return { done: listening && child.exitCode === null, state: stderr };
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  return {
    spec,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}
