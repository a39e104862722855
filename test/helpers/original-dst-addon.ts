import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ADDON_PATH } from '../../proxy/original-dst/original-dst.js';
import { repoRoot } from '../cluster/paths.js';

const SOURCES = ['binding.gyp', 'original-dst.c'].map((f) => join(repoRoot, 'proxy', 'original-dst', f));

/**
 * Builds the SO_ORIGINAL_DST addon (`npm run build:native`) when it is missing or older than its
 * source, so tests never run against a stale build. Returns a reason to skip only when the machine
 * has no C toolchain (an environment without one cannot build it); a failed build throws with
 * node-gyp's output.
 */
export function ensureOriginalDstAddon(): { skip: string } | undefined {
  const builtAt = existsSync(ADDON_PATH) ? statSync(ADDON_PATH).mtimeMs : 0;
  if (SOURCES.every((f) => statSync(f).mtimeMs <= builtAt)) return undefined;
  for (const tool of ['cc', 'make', 'python3']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return { skip: `no ${tool} on PATH: the original-destination addon cannot be built here` };
  }
  const res = spawnSync('npm', ['run', '--silent', 'build:native'], { cwd: repoRoot, encoding: 'utf8' });
  if (res.status !== 0)
    throw new Error(`npm run build:native failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
  return undefined;
}
