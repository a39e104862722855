import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { repoRoot } from '../cluster/paths.js';
import { performanceSection, replaceSection, type Results, type SuiteJson } from './readme-section.js';

/**
 * `npm run bench:readme`: rewrites the README's performance section from test/bench/results/*.json
 * (whatever runs are there), so the figures shown are always the ones measured; then formats the
 * README as `prettier --check` expects it (aligned tables).
 */
const SUITES = ['proxy', 'control-plane', 'ca', 'operator', 'translate'];

function read(suite: string): SuiteJson | undefined {
  const file = join(repoRoot, 'test', 'bench', 'results', `${suite}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SuiteJson) : undefined;
}

async function main(): Promise<void> {
  const results: Results = Object.fromEntries(SUITES.map((s) => [s, read(s)]));
  const path = join(repoRoot, 'README.md');
  const updated = replaceSection(readFileSync(path, 'utf8'), performanceSection(results));
  const options = (await resolveConfig(path)) ?? {};
  writeFileSync(path, await format(updated, { ...options, filepath: path }));
  console.log('README.md performance section regenerated from test/bench/results/');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
