import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { up } from './cluster/local-cluster.js';
import { repoRoot } from './cluster/paths.js';

/**
 * `npm test`: unit tests (beside the code they test, and under test/unit), then integration tests
 * against the real local cluster, brought up once here so test files never race to start it.
 * `npm test -- unit` or `-- integration` runs one tier; other arguments filter files by substring.
 */

const SOURCE_DIRS = [
  'operator',
  'controllers',
  'webhooks',
  'cdk8s',
  'crds',
  'proxy',
  'olm-bundle',
  'weftctl',
  'test',
];
const SKIP = new Set(['node_modules', '.weft', 'dist', 'generated']);

function findTests(dir: string, out: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (SKIP.has(entry)) continue;
    const file = join(dir, entry);
    if (statSync(file).isDirectory()) findTests(file, out);
    else if (entry.endsWith('.test.ts')) out.push(relative(repoRoot, file));
  }
  return out;
}

const tierOf = (file: string): 'integration' | 'e2e' | 'unit' =>
  file.startsWith('test/integration/') ? 'integration' : file.startsWith('test/e2e/') ? 'e2e' : 'unit';

function runNodeTests(files: readonly string[], concurrency: number): number {
  if (files.length === 0) return 0;
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  return res.status ?? 1;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // The first argument is a tier when it names one; otherwise every argument filters files.
  const tier = ['unit', 'integration', 'e2e', 'all'].includes(args[0] ?? '') ? args[0] : undefined;
  const filters = tier ? args.slice(1) : args;
  const all = SOURCE_DIRS.flatMap((d) => findTests(join(repoRoot, d))).sort();
  const wanted = all.filter(
    (f) => (!tier || tier === 'all' || tierOf(f) === tier) && filters.every((flt) => f.includes(flt)),
  );
  const unit = wanted.filter((f) => tierOf(f) === 'unit');
  const cluster = wanted.filter((f) => tierOf(f) !== 'unit');
  console.log(`weft tests: ${unit.length} unit files, ${cluster.length} integration/e2e files`);
  if (wanted.length === 0) {
    console.error(`no test file matches ${args.join(' ')}`);
    return 1;
  }

  let failed = runNodeTests(unit, 2) !== 0;
  if (cluster.length > 0) {
    await up((line) => console.log(`[cluster] ${line}`));
    // One file at a time: they share one cluster and a 2-core machine.
    failed = runNodeTests(cluster, 1) !== 0 || failed;
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
