import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';

/**
 * The fixed-rate load generator (test/bench/loadgen, Go, standard library only) is built on first
 * use into a cache outside the repository, one binary per version of its source. Debian's wrk is
 * closed loop; vegeta and other Go generators pace with Go timers, which wake up to 1 ms late on
 * Linux: as much as the latencies being compared.
 */
const SOURCE = join(repoRoot, 'test', 'bench', 'loadgen');

function cacheDir(): string {
  return (
    process.env.WEFT_TOOLS_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'weft', 'tools')
  );
}

/** The loadgen binary for the current source, built with `go build` when missing. */
export function ensureLoadgen(): string {
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'main.go']) hash.update(readFileSync(join(SOURCE, f)));
  const binary = join(cacheDir(), `weft-loadgen-${hash.digest('hex').slice(0, 12)}`, 'weft-loadgen');
  if (existsSync(binary)) return binary;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      `the proxy benchmark builds its load generator (test/bench/loadgen) with Go 1.21 or later, which was not found (${go.error?.message ?? go.stderr}); install Go and run again`,
    );
  }
  console.log(`building the load generator with ${go.stdout.trim()} into ${binary} (once)...`);
  mkdirSync(join(binary, '..'), { recursive: true });
  const built = spawnSync('go', ['build', '-o', binary, '.'], { cwd: SOURCE, stdio: 'inherit' });
  if (built.status !== 0 || !existsSync(binary)) throw new Error(`go build in ${SOURCE} failed`);
  return binary;
}

/** Fails at once, naming the fix, when a peer or load tool is not installed. */
export function requireCommands(commands: readonly string[]): void {
  const missing = commands.filter((c) => spawnSync(c, ['-v'], { stdio: 'ignore' }).error !== undefined);
  if (missing.length > 0)
    throw new Error(
      `the proxy benchmark needs ${missing.join(', ')}: apt-get install -y ${missing.join(' ')}`,
    );
}

/** The first line a tool prints about its version, for the results. */
export function toolVersion(command: string, args: readonly string[]): string {
  const res = spawnSync(command, args, { encoding: 'utf8' });
  if (res.error) return 'missing';
  const text = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? 'unknown'
  );
}
