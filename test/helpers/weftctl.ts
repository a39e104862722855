import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
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

/**
 * A kubeconfig whose API server is a closed loopback port (a cluster that is down), written to
 * `file`: for the "cannot reach the cluster" paths. The caller removes it.
 */
export function writeUnreachableKubeconfig(file: string): string {
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'gone', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
      'current-context': 'gone',
    }),
  );
  return file;
}
