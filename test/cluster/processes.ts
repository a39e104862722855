import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './paths.js';

/** Process bookkeeping for the cluster's components: a pid file each under `.weft/cluster/run`. */

const pidFile = (name: string): string => join(paths.runDir, `${name}.pid`);

/**
 * Whether a process is running. A zombie (exited, not yet reaped by the process that started it, as
 * when `npm test` starts the cluster itself) counts as gone: it serves nothing and ignores signals.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The running pid of a component, or undefined; a recycled pid running something else does not count. */
export function runningPid(name: string, binaryPath: string): number | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  const pid = Number(readFileSync(pidFile(name), 'utf8').trim());
  if (!Number.isInteger(pid) || !alive(pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.startsWith(binaryPath) ? pid : undefined;
  } catch {
    return pid;
  }
}

/** Starts a component detached from this process, so `cluster up` can exit and leave it serving. */
export function startDetached(name: string, binaryPath: string, args: readonly string[]): number {
  mkdirSync(paths.runDir, { recursive: true });
  mkdirSync(paths.logDir, { recursive: true });
  const log = openSync(join(paths.logDir, `${name}.log`), 'a');
  const child = spawn(binaryPath, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${binaryPath})`);
  child.unref();
  writeFileSync(pidFile(name), String(child.pid));
  return child.pid;
}

export function logTail(name: string, lines = 20): string {
  try {
    return readFileSync(join(paths.logDir, `${name}.log`), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(name: string, pid: number, graceMs = 10_000): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    signal('SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
  }
  rmSync(pidFile(name), { force: true });
}

export interface CapturedRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion without blocking the event loop, feeding it `input` and collecting
 * its output: for callers that serve something in their own process (a webhook, push clients) while
 * the command talks to it.
 */
export function runCaptured(
  command: string,
  args: readonly string[],
  { input = '', cwd }: { input?: string; cwd?: string } = {},
): Promise<CapturedRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}
