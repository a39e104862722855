import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { KUBERNETES_VERSION } from '../../test/cluster/versions.js';
import { renderBundle } from './bundle.js';
import { CHANNEL, PACKAGE_NAME } from './csv.js';
import { bundleDir, readInputs } from './inputs.js';
import { MANIFESTS_DIR, METADATA_DIR } from './metadata.js';
import { ensureOperatorFrameworkTools, operatorSdkVersion, runOperatorSdk } from './operator-sdk.js';
import { validateCatalog } from './opm.js';
import { ensureValidator, runValidator } from './validator.js';

/**
 * `npm run bundle`: writes the OLM bundle (olm-bundle/manifests, metadata, tests, bundle.Dockerfile)
 * from crds/ and cdk8s/. `-- --check` writes nothing and fails when any file is stale or left over,
 * so CI catches a CRD, sample or RBAC change without a regenerated bundle. `-- validate` runs the
 * operator-sdk's `bundle validate`, a cross-check and opm's catalog validation on the committed
 * bundle (ADR 0010).
 */

/** Directories wholly owned by the generator: any file in them it did not write is stale. */
const GENERATED_DIRS = [MANIFESTS_DIR, METADATA_DIR, 'tests/'];

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Files that differ from what the generator renders, and generated-directory files it no longer renders. */
function staleFiles(files: ReadonlyMap<string, string>): { stale: string[]; extra: string[] } {
  const stale = [...files]
    .filter(([path, content]) => {
      const abs = join(bundleDir, path);
      return !existsSync(abs) || readFileSync(abs, 'utf8') !== content;
    })
    .map(([path]) => path);
  const extra = GENERATED_DIRS.flatMap((d) => filesUnder(join(bundleDir, d)))
    .map((abs) => relative(bundleDir, abs))
    .filter((path) => !files.has(path));
  return { stale, extra };
}

function generate(check: boolean): number {
  const files = renderBundle(readInputs());
  const { stale, extra } = staleFiles(files);
  if (check) {
    if (stale.length === 0 && extra.length === 0) return 0;
    const names = [...stale, ...extra].map((p) => `olm-bundle/${p}`).join(', ');
    console.error(`the OLM bundle is stale: ${names}\nrun: npm run bundle`);
    return 1;
  }
  for (const path of stale) {
    const abs = join(bundleDir, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, files.get(path) ?? '');
    console.log(`wrote olm-bundle/${path}`);
  }
  for (const path of extra) {
    rmSync(join(bundleDir, path));
    console.log(`removed olm-bundle/${path}`);
  }
  return 0;
}

/** The Kubernetes minor the project's own cluster runs: the version the bundle is checked against. */
const defaultK8sVersion = (): string => KUBERNETES_VERSION.replace(/^v/, '').split('.').slice(0, 2).join('.');

/**
 * `-- validate`: operator-sdk's own `bundle validate` (the check; warnings fail except its one
 * known false positive), the operator-framework/api v0.45.0 cross-check (strict), and opm's
 * validation of a file-based catalog rendered from the bundle. All three run, so one run shows
 * every finding; any failing fails the command. ADR 0010.
 */
async function validate(args: readonly string[]): Promise<number> {
  const unknown = args.filter((a) => !a.startsWith('--k8s-version='));
  if (unknown.length > 0) {
    console.error(
      `unknown argument(s) ${unknown.join(' ')}\nusage: npm run bundle -- validate [--k8s-version=1.35]`,
    );
    return 2;
  }
  const flag = args.find((a) => a.startsWith('--k8s-version='));
  const k8sVersion = flag ? flag.slice('--k8s-version='.length) : defaultK8sVersion();
  const log = (line: string): void => console.log(line);
  const tools = await ensureOperatorFrameworkTools(log);

  log(`\n== operator-sdk ${operatorSdkVersion()} bundle validate, Kubernetes ${k8sVersion}`);
  const sdk = runOperatorSdk(tools.operatorSdk, k8sVersion, log);
  for (const note of sdk.notes) log(`  ${note}`);
  log(sdk.passed ? 'operator-sdk: passed' : 'operator-sdk: FAILED');

  log(`\n== cross-check: operator-framework/api v0.45.0 validators (olm-bundle/validate), strict`);
  const crossCheck = runValidator(ensureValidator(log), bundleDir, k8sVersion) === 0;
  log(crossCheck ? 'cross-check: passed' : 'cross-check: FAILED');

  log(`\n== opm: a file-based catalog rendered from the bundle`);
  const catalog = validateCatalog(tools.opm, PACKAGE_NAME, CHANNEL, log);
  log(catalog ? 'opm validate: passed' : 'opm validate: FAILED');
  return sdk.passed && crossCheck && catalog ? 0 : 1;
}

async function main(args: readonly string[]): Promise<number> {
  if (args[0] === 'validate') return validate(args.slice(1));
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(
      `unknown argument(s) ${unknown.join(' ')}\nusage: npm run bundle [-- --check | -- validate [--k8s-version=1.35]]`,
    );
    return 2;
  }
  return generate(args.includes('--check'));
}

try {
  process.exit(await main(process.argv.slice(2)));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
