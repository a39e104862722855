import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';

export interface WeftctlResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs weftctl as a user does, through the package's bin launcher. Asynchronous, so a test's own
 * in-process peers (push clients) keep answering while it runs.
 */
export function weftctl(args: readonly string[], input = ''): Promise<WeftctlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'weftctl.js'), ...args], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}
