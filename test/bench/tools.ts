import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The open-model load generator: vegeta sends on its schedule whatever the responses do, and we
 * correct its latencies to the intended send times (open-loop-results.ts). Debian's wrk is closed
 * loop (each connection waits for its response), which hides stalls; wrk2 is not packaged. Pinned,
 * and built from the Go module proxy into a cache outside the repository on first use.
 */
export const VEGETA_MODULE = 'github.com/tsenart/vegeta/v12';
export const VEGETA_VERSION = 'v12.13.0';

function cacheDir(): string {
  return (
    process.env.WEFT_TOOLS_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'weft', 'tools')
  );
}

/** The vegeta binary, built with `go install` the first time. */
export function ensureVegeta(): string {
  const dir = join(cacheDir(), `vegeta-${VEGETA_VERSION}`);
  const binary = join(dir, 'vegeta');
  if (existsSync(binary)) return binary;
  const go = spawnSync('go', ['env', 'GOPROXY'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      `the proxy benchmark needs vegeta ${VEGETA_VERSION}, built with Go (not found: ${go.error?.message ?? go.stderr}); install Go 1.22+ or put a vegeta binary at ${binary}`,
    );
  }
  console.log(
    `building vegeta ${VEGETA_VERSION} into ${dir} (GOPROXY ${go.stdout.trim()}; once, about 30 s)...`,
  );
  mkdirSync(dir, { recursive: true });
  const built = spawnSync('go', ['install', `${VEGETA_MODULE}@${VEGETA_VERSION}`], {
    env: { ...process.env, GOBIN: dir },
    stdio: 'inherit',
  });
  if (built.status !== 0 || !existsSync(binary)) {
    throw new Error(
      `go install ${VEGETA_MODULE}@${VEGETA_VERSION} failed; is the Go module proxy reachable?`,
    );
  }
  return binary;
}

/** The first line a tool prints about its version, for the results' machine section. */
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
