import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { paths, repoRoot } from '../cluster/paths.js';
import { waitUntil } from './wait.js';

export interface RunningControlPlane {
  readonly process: ChildProcess;
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the real control plane process out of cluster against the local cluster. */
export async function startControlPlane(args: readonly string[]): Promise<RunningControlPlane> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'controllers', 'control-plane', 'main.ts'), ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, KUBECONFIG: paths.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitUntil('the control plane to sync discovery', () => {
    if (child.exitCode !== null) throw new Error(`control plane exited with ${child.exitCode}:\n${output}`);
    return { done: output.includes('"discovery synced"'), state: output.slice(-1500) };
  });
  return {
    process: child,
    logs: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
