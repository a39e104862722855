import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';
import { runCaptured, type CapturedRun } from '../cluster/processes.js';

export type WeftctlResult = CapturedRun;

/**
 * Runs weftctl as a user does, through the package's bin launcher. Asynchronous, so a test's own
 * in-process peers (push clients) keep answering while it runs.
 */
export function weftctl(args: readonly string[], input = ''): Promise<WeftctlResult> {
  return runCaptured(process.execPath, [join(repoRoot, 'bin', 'weftctl.js'), ...args], {
    input,
    cwd: repoRoot,
  });
}
