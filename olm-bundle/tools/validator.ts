import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { bundleDir } from './inputs.js';

/**
 * The cross-check (olm-bundle/validate: the checks of operator-sdk's `bundle validate
 * --select-optional suite=operatorframework`, run with operator-framework/api v0.45.0, a newer api
 * than operator-sdk v1.42.2's; ADRs 0009 and 0010) is built on first use with the machine's Go into
 * a cache outside the repository, one binary per version of its source and go.sum, as the cluster
 * binaries and the bench load generator are.
 */
const SOURCE = join(bundleDir, 'validate');
const SOURCE_FILES = ['go.mod', 'go.sum', 'main.go'];

/** Where Weft's Go tools are built: `$WEFT_TOOLS_DIR`, else `~/.cache/weft/tools` (XDG_CACHE_HOME honoured). */
export function toolsCacheDir(): string {
  return (
    process.env.WEFT_TOOLS_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'weft', 'tools')
  );
}

export function validatorBinary(): string {
  const hash = createHash('sha256');
  for (const f of SOURCE_FILES) hash.update(readFileSync(join(SOURCE, f)));
  return join(
    toolsCacheDir(),
    `olm-bundle-validate-${hash.digest('hex').slice(0, 12)}`,
    'olm-bundle-validate',
  );
}

/** The validator binary for the current source, built with `go build` when missing. */
export function ensureValidator(log: (line: string) => void): string {
  const binary = validatorBinary();
  if (existsSync(binary)) return binary;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      `npm run bundle -- validate builds its validator (olm-bundle/validate) with Go 1.26.3 or later, which was not found (${go.error?.message ?? go.stderr}); install Go and run again`,
    );
  }
  log(
    `building the cross-check validator (operator-framework/api v0.45.0) with ${go.stdout.trim()} into ${binary} (once; the first build downloads operator-framework/api and its Kubernetes modules from the Go module proxy)...`,
  );
  mkdirSync(join(binary, '..'), { recursive: true });
  // Built beside, then renamed: a concurrent run never executes a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  const built = spawnSync('go', ['build', '-mod=readonly', '-trimpath', '-o', partial, '.'], {
    cwd: SOURCE,
    stdio: 'inherit',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (built.status !== 0 || !existsSync(partial))
    throw new Error(`go build in ${SOURCE} failed (exit ${built.status}); see its output above`);
  renameSync(partial, binary);
  return binary;
}

/**
 * Runs the validator on `dir` and returns its exit code: 0 passed, 1 errors or warnings, 2 unreadable.
 * Strict: operator-sdk lets warnings pass, but each one is something OperatorHub reviewers or the
 * console would flag, so the bundle is kept free of them.
 */
export function runValidator(binary: string, dir: string, k8sVersion: string): number {
  const res = spawnSync(binary, ['--strict', `--k8s-version=${k8sVersion}`, dir], { stdio: 'inherit' });
  if (res.error) throw res.error;
  return res.status ?? 1;
}
