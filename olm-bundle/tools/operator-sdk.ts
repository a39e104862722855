import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleDir, repoDir } from './inputs.js';
import { toolsCacheDir } from './validator.js';

/**
 * operator-sdk, and opm from the operator-registry release it requires, built from their Go modules
 * as the local cluster's binaries are (ADR 0010). olm-bundle/operator-sdk is a module whose only
 * content is a blank import of both commands; its committed go.mod and go.sum pin every module they
 * are built from, so `go build -mod=readonly` needs nothing but Go and the module proxy, and builds
 * the same programs on every machine. They are cached outside the repository, in one directory per
 * operator-sdk version and hash of the build module and flags, as the cluster binaries are cached
 * per Kubernetes version.
 */
export const BUILD_MODULE = join(bundleDir, 'operator-sdk');
const BUILD_FILES = ['go.mod', 'go.sum', 'tools.go'];
const SDK_MODULE = 'github.com/operator-framework/operator-sdk';
const REGISTRY_MODULE = 'github.com/operator-framework/operator-registry';
const COMMANDS = { operatorSdk: `${SDK_MODULE}/cmd/operator-sdk`, opm: `${REGISTRY_MODULE}/cmd/opm` };
/** Both Makefiles build with this tag: containers/image then needs no gpgme (cgo). */
const BUILD_TAGS = 'containers_image_openpgp';

export interface OperatorFrameworkTools {
  operatorSdk: string;
  opm: string;
}

/** The version of `module` that go.mod requires, e.g. `v1.42.2`. */
export function requiredVersion(goMod: string, module: string): string {
  const escaped = module.replace(/[.]/g, '\\.');
  const m = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!m?.[1]) throw new Error(`${join(BUILD_MODULE, 'go.mod')} does not require ${module}`);
  return m[1];
}

const readGoMod = (): string => readFileSync(join(BUILD_MODULE, 'go.mod'), 'utf8');

/** The operator-sdk version the build module requires, e.g. `v1.42.2`. */
export const operatorSdkVersion = (goMod: string = readGoMod()): string => requiredVersion(goMod, SDK_MODULE);

/** `go build` arguments after `build`, without `-o`: part of the cache key. */
function buildFlags(goMod: string): string[] {
  // The version variables the two Makefiles set (`operator-sdk version`, `opm version`; operator-sdk's
  // ImageVersion is the tag of the scorecard images it runs). Commits, build dates and operator-sdk's
  // KubernetesVersion come from git checkouts and Makefiles, which a module build does not have.
  const sdk = `${SDK_MODULE}/internal/version`;
  const sdkVersion = operatorSdkVersion(goMod);
  const ldflags = [
    '-s',
    '-w',
    ...['Version', 'GitVersion', 'ImageVersion'].map((v) => `-X ${sdk}.${v}=${sdkVersion}`),
    `-X ${REGISTRY_MODULE}/cmd/opm/version.opmVersion=${requiredVersion(goMod, REGISTRY_MODULE)}`,
  ];
  return ['-mod=readonly', '-trimpath', '-tags', BUILD_TAGS, '-ldflags', ldflags.join(' ')];
}

/** The cache directory of the current build module: `operator-sdk-<version>-<hash>`. */
export function operatorFrameworkToolsDir(): string {
  const goMod = readGoMod();
  const hash = createHash('sha256');
  for (const f of BUILD_FILES) hash.update(readFileSync(join(BUILD_MODULE, f)));
  hash.update(JSON.stringify(buildFlags(goMod)));
  return join(
    toolsCacheDir(),
    `operator-sdk-${operatorSdkVersion(goMod)}-${hash.digest('hex').slice(0, 12)}`,
  );
}

const toolsIn = (dir: string): OperatorFrameworkTools => ({
  operatorSdk: join(dir, 'operator-sdk'),
  opm: join(dir, 'opm'),
});

/** The environment of every `go` command here: no cgo, and no go.work from a parent directory. */
const goEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CGO_ENABLED: '0', GOWORK: 'off' });

/** Runs `go args` in the build module; every stderr line goes to `onLine`, stdout is returned. */
function goAsync(
  args: readonly string[],
  onLine: (line: string) => void,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd: BUILD_MODULE, env: goEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let rest = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (rest) onLine(rest);
      resolve({ code, stdout });
    });
  });
}

const elapsed = (start: number): string => `${Math.round((Date.now() - start) / 1000)}s`;

/**
 * operator-sdk and opm for the committed build module, built when missing. Building takes minutes
 * on a fresh machine (226 modules downloaded, about 1,750 packages compiled), so progress is
 * printed: the modules as they download, then every 15 seconds the packages compiled so far.
 */
export async function ensureOperatorFrameworkTools(
  log: (line: string) => void,
): Promise<OperatorFrameworkTools> {
  const dir = operatorFrameworkToolsDir();
  const tools = toolsIn(dir);
  if (existsSync(tools.operatorSdk) && existsSync(tools.opm)) return tools;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      `npm run bundle -- validate builds operator-sdk from its Go module with Go 1.25.7 or later, which was not found (${go.error?.message ?? go.stderr}); install Go and run again`,
    );
  }
  const goMod = readGoMod();
  const start = Date.now();
  log(
    `[operator-sdk] building operator-sdk ${operatorSdkVersion(goMod)} and opm ${requiredVersion(goMod, REGISTRY_MODULE)} from their Go modules with ${go.stdout.trim()} into ${dir}`,
  );
  log(
    '[operator-sdk] once per version; on a fresh machine about 3.5 minutes on 2 cores (modules downloaded from the Go module proxy, then compiled)',
  );

  // Step 1: load the package graph. This downloads the modules the build needs and tells how many
  // packages there are, so step 2 can say how far it has got.
  let downloads = 0;
  const listed = await goAsync(
    ['list', '-deps', '-mod=readonly', '-tags', BUILD_TAGS, COMMANDS.operatorSdk, COMMANDS.opm],
    (line) => {
      if (line.startsWith('go: downloading ')) {
        downloads += 1;
        if (downloads % 25 === 0) log(`[operator-sdk] ${elapsed(start)}: ${downloads} modules downloaded...`);
      } else log(line);
    },
  );
  if (listed.code !== 0)
    throw new Error(`go list in ${BUILD_MODULE} failed (exit ${listed.code}); see its output above`);
  const packages = listed.stdout.split('\n').filter(Boolean).length;
  log(
    `[operator-sdk] ${elapsed(start)}: modules ready (${downloads} downloaded); compiling up to ${packages} packages (fewer when Go's build cache has some)`,
  );

  // Step 2: build into a directory beside the final one, then rename it, so a concurrent run never
  // executes a half-written binary. `-v` names each package as it is compiled: the progress count.
  mkdirSync(toolsCacheDir(), { recursive: true });
  const partial = `${dir}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  let compiled = 0;
  const ticker = setInterval(
    () => log(`[operator-sdk] ${elapsed(start)}: ${compiled} of up to ${packages} packages compiled...`),
    15_000,
  );
  try {
    const built = await goAsync(
      ['build', '-v', ...buildFlags(goMod), '-o', `${partial}/`, COMMANDS.operatorSdk, COMMANDS.opm],
      (line) => {
        // -v prints bare import paths; anything else (a compiler error, a download) is shown as is.
        if (/^[\w.~/-]+$/.test(line)) compiled += 1;
        else log(line);
      },
    );
    const made = toolsIn(partial);
    if (built.code !== 0 || !existsSync(made.operatorSdk) || !existsSync(made.opm))
      throw new Error(`go build in ${BUILD_MODULE} failed (exit ${built.code}); see its output above`);
    // A concurrent run may have finished first: keep its complete directory.
    if (!existsSync(tools.operatorSdk) || !existsSync(tools.opm)) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
    }
  } finally {
    clearInterval(ticker);
    rmSync(partial, { recursive: true, force: true });
  }
  log(`[operator-sdk] built in ${elapsed(start)} (${compiled} packages compiled)`);
  return tools;
}

/** One line of operator-sdk's output: logrus's text format, as written to a pipe. */
export interface LogLine {
  level: string;
  msg: string;
}

/**
 * Parses `time="..." level=warning msg="..."` lines. logrus quotes `msg` with Go's %q when it
 * has to; JSON reads Go's quoting except `\x..` escapes and friends, which such a line then keeps
 * in its raw form. Returns undefined for a line that is not in this format.
 */
export function parseLogLine(line: string): LogLine | undefined {
  const m = /^time="[^"]*" level=(\w+) msg=("(?:[^"\\]|\\.)*"|\S*)/.exec(line);
  if (!m?.[1] || m[2] === undefined) return undefined;
  let msg = m[2];
  if (msg.startsWith('"')) {
    try {
      msg = JSON.parse(msg) as string;
    } catch {
      msg = msg.slice(1, -1);
    }
  }
  return { level: m[1], msg };
}

/**
 * The one warning allowed through: the `alpha-deprecated-apis` validator of operator-framework/api
 * v0.34.0 (the version operator-sdk v1.42.2 pins) warns that RBAC rules on these three resources
 * "use APIs removed in v1.25". RBAC rules name a group and a resource, never a version, and all
 * three are served in v1 (discovery.k8s.io/v1, events.k8s.io/v1, policy/v1), which is what the
 * operator uses; later api releases dropped the check (operator-framework/api#378; ADR 0010).
 *
 * Matched narrowly: the validator's exact message for removals in v1.25, naming only these
 * resources (its order is a Go map's, so any order), each only at ClusterServiceVersion RBAC rule
 * paths. Two validators of the suite run this check and print the same message: `operatorhubv2`
 * and `alpha-deprecated-apis`. A v1beta1 object of one of these kinds in the bundle is reported by kind, not by resource,
 * and still fails, as does any other warning.
 */
const FALSE_POSITIVE_RESOURCES = new Set(['endpointslices', 'events', 'poddisruptionbudgets']);
const FALSE_POSITIVE_PREFIX =
  /^Warning: Value [\w.-]+: this bundle is using APIs which were deprecated and removed in v1\.25\. More info: https:\/\/kubernetes\.io\/docs\/reference\/using-api\/deprecation-guide\/#v1-25\. Migrate the API\(s\) for /;
/** One `resource: (["<rule path>" ...])` entry; the api formats each with a trailing comma. */
const RBAC_ENTRY =
  /([a-z]+): \(\["ClusterServiceVersion\.Spec\.InstallStrategy\.StrategySpec\.(?:Cluster)?Permissions\[\d+\]\.Rules\[\d+\]"(?: "ClusterServiceVersion\.Spec\.InstallStrategy\.StrategySpec\.(?:Cluster)?Permissions\[\d+\]\.Rules\[\d+\]")*\]\),?/y;

export function isKnownFalsePositive(msg: string): boolean {
  const prefix = FALSE_POSITIVE_PREFIX.exec(msg);
  if (!prefix) return false;
  const seen = new Set<string>();
  RBAC_ENTRY.lastIndex = prefix[0].length;
  while (RBAC_ENTRY.lastIndex < msg.length) {
    const m = RBAC_ENTRY.exec(msg);
    if (!m?.[1] || !FALSE_POSITIVE_RESOURCES.has(m[1]) || seen.has(m[1])) return false;
    seen.add(m[1]);
  }
  return seen.size > 0;
}

export interface Verdict {
  passed: boolean;
  /** Why it failed, or the false positives let through: printed after operator-sdk's own output. */
  notes: string[];
}

/**
 * Judges one run from its exit code and output. Passes only when operator-sdk exits 0, says that
 * all validation tests completed, prints no error, and every warning is the known false positive.
 * A stdout line in a format not understood fails too, so a warning can never slip by unparsed.
 */
export function judge(status: number | null, stdout: string, stderr: string): Verdict {
  const notes: string[] = [];
  let passed = status === 0;
  if (status !== 0) notes.push(`operator-sdk exited with ${status}`);
  let completed = false;
  const lines = [...stdout.split('\n'), ...stderr.split('\n')].filter((l) => l.trim() !== '');
  for (const line of lines) {
    const parsed = parseLogLine(line);
    if (!parsed) {
      passed = false;
      notes.push(`unrecognised output line (not logrus text): ${line}`);
    } else if (parsed.level === 'info') {
      if (parsed.msg === 'All validation tests have completed successfully') completed = true;
    } else if (parsed.level === 'warning' && isKnownFalsePositive(parsed.msg)) {
      notes.push(
        'allowed: the removed-in-v1.25 warning on RBAC rules for endpointslices/events/poddisruptionbudgets ' +
          '(operatorhubv2 and alpha-deprecated-apis), a false positive of operator-framework/api v0.34.0 ' +
          '(operator-framework/api#378; docs/adr/0010)',
      );
    } else {
      passed = false;
      notes.push(
        `${parsed.level === 'warning' ? 'warning (warnings fail here)' : parsed.level}: ${parsed.msg}`,
      );
    }
  }
  if (!completed) {
    passed = false;
    notes.push('operator-sdk did not report "All validation tests have completed successfully"');
  }
  return { passed, notes };
}

/** The command, exactly: the bundle directory, the operatorframework suite, the Kubernetes minor. */
export function operatorSdkArgs(dir: string, k8sVersion: string): string[] {
  return [
    'bundle',
    'validate',
    dir,
    '--select-optional',
    'suite=operatorframework',
    `--optional-values=k8s-version=${k8sVersion}`,
  ];
}

/**
 * Runs `operator-sdk bundle validate ./olm-bundle ...` from the repository root, shows its output
 * as it printed it, and judges it.
 */
export function runOperatorSdk(binary: string, k8sVersion: string, log: (line: string) => void): Verdict {
  const args = operatorSdkArgs(`./${relative(repoDir, bundleDir)}`, k8sVersion);
  log(`$ operator-sdk ${args.join(' ')}`);
  const res = spawnSync(binary, args, { cwd: repoDir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw res.error;
  // stderr (progress, the final "completed" line) and stdout (the results), each in its order.
  for (const line of `${res.stdout}${res.stderr}`.split('\n')) if (line) log(line);
  return judge(res.status, res.stdout, res.stderr);
}
