import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../cluster/paths.js';
import { caSuite } from './ca.js';
import { controlPlaneSuite } from './control-plane.js';
import { operatorSuite } from './operator.js';
import { proxyProfileSuite } from './proxy-profile.js';
import { proxySuite } from './proxy.js';
import { translateSuite } from './translate.js';
import type { BenchOptions, SuiteResult } from './suite.js';

/**
 * `npm run bench [-- <suite>] [--quick]`: benchmarks, not tests. Results go to
 * test/bench/results/<suite>.json and a markdown summary beside it.
 */
const suites: Record<string, (options: BenchOptions) => Promise<SuiteResult>> = {
  'control-plane': controlPlaneSuite,
  operator: operatorSuite,
  proxy: proxySuite,
  'proxy-profile': proxyProfileSuite,
  ca: caSuite,
  translate: translateSuite,
};

function markdown(result: SuiteResult, generatedAt: string, quick: boolean): string {
  const rows = Object.entries(result.metrics ?? {}).map(
    ([name, value]) => `| ${name} | ${Math.round(value * 1000) / 1000} |`,
  );
  return [
    `# ${result.suite} benchmark`,
    '',
    `Generated ${generatedAt}${quick ? ' (--quick)' : ''}; the JSON beside this file has every figure.`,
    '',
    ...result.notes.map((n) => `- ${n}`),
    '',
    ...(result.markdown ?? []),
    ...(rows.length > 0 ? ['| metric | value |', '|---|---|', ...rows, ''] : []),
  ].join('\n');
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const wanted = args.filter((a) => !a.startsWith('--'));
  const unknown = wanted.filter((name) => !suites[name]);
  if (unknown.length > 0) {
    console.error(`unknown suite ${unknown.join(', ')}; suites: ${Object.keys(suites).join(', ')}`);
    return 2;
  }
  // Processes under test run from the compiled build, as they do in the image.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) return 1;
  const dir = join(repoRoot, 'test', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
    console.log(`bench ${name}${quick ? ' (quick)' : ''}...`);
    // The machine is shared: the load average around the run says how quiet it was.
    const loadBefore = loadavg()[0]!;
    const started = Date.now();
    const result = await suites[name]!({ quick });
    const { data, markdown: _tables, ...summary } = result;
    const generatedAt = new Date().toISOString();
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverage: { before: round2(loadBefore), after: round2(loadavg()[0]!) },
    };
    const seconds = Math.round((Date.now() - started) / 1000);
    writeFileSync(
      join(dir, `${name}.json`),
      JSON.stringify({ generatedAt, machine, ...data, quick, seconds, ...summary }, null, 2) + '\n',
    );
    writeFileSync(join(dir, `${name}.md`), markdown(result, generatedAt, quick));
    console.log(result.markdown?.join('\n') ?? JSON.stringify(result.metrics, null, 2));
    console.log(`bench ${name}: ${seconds} s; results in test/bench/results/${name}.json and .md`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
