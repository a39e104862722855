import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { paths, repoRoot } from '../cluster/paths.js';
import { waitUntil } from './wait.js';

export interface RunningProcess {
  readonly process: ChildProcess;
  /** Everything the process printed so far (pino JSON lines). */
  logs(): string;
  /** Sends a signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs one of Weft's processes against the local cluster, as a user runs it out of cluster, and
 * waits until it logs `readyLine`. `entry` is relative to the repository: TypeScript runs under tsx,
 * compiled JavaScript (dist/) directly. `kubeconfig` defaults to the cluster admin's; a test can run the
 * process as another identity (a ServiceAccount's token) to prove what it may do.
 */
export async function startWeftProcess(
  entry: string,
  args: readonly string[],
  readyLine: string,
  { kubeconfig = paths.kubeconfig }: { kubeconfig?: string } = {},
): Promise<RunningProcess> {
  const file = join(repoRoot, entry);
  const child = spawn(
    process.execPath,
    [...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []), file, ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A process that exits before it is ready fails the start at once, with what it printed.
  const exitedEarly = exited.then((code) => {
    throw new Error(`${entry} exited with ${code} before logging ${readyLine}:\n${output.slice(-3000)}`);
  });
  exitedEarly.catch(() => undefined); // handled by the race below, or moot once the process is ready
  await Promise.race([
    waitUntil(
      `${entry} to log ${readyLine}`,
      () => ({ done: output.includes(readyLine), state: output.slice(-1500) }),
      {
        timeoutMs: 30_000,
      },
    ),
    exitedEarly,
  ]);
  return {
    process: child,
    logs: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
