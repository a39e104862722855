import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { kwokStagesFile } from './components.js';
import { binaryCacheDir, paths, repoRoot } from './paths.js';
import { KUBERNETES_VERSION, KWOK_VERSION } from './versions.js';

export const CLUSTER_BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
] as const;
export type ClusterBinary = (typeof CLUSTER_BINARIES)[number];
export type BinaryPaths = Record<ClusterBinary, string>;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where a binary is found, in order: `$KUBEBUILDER_ASSETS`, then `$PATH`, then the build cache.
 * kubectl skips `$PATH` on purpose: tests and docs must use a kubectl of the cluster's own version,
 * never whatever the machine happens to have installed.
 */
export function locateBinary(name: ClusterBinary): string | undefined {
  const dirs: string[] = [];
  if (process.env.KUBEBUILDER_ASSETS) dirs.push(process.env.KUBEBUILDER_ASSETS);
  if (name !== 'kubectl') dirs.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  dirs.push(binaryCacheDir());
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

function missingBinaries(): string[] {
  const missing: string[] = CLUSTER_BINARIES.filter((name) => locateBinary(name) === undefined);
  if (!existsSync(kwokStagesFile())) missing.push('kwok stages');
  return missing;
}

/** Builds what is missing into the cache with the machine's Go toolchain, streaming progress. */
async function buildBinaries(missing: readonly string[], log: (line: string) => void): Promise<void> {
  log(
    `building ${missing.join(', ')} from their Go modules (Kubernetes ${KUBERNETES_VERSION}); ` +
      `the first build takes about 5 minutes on 2 cores (longer on a slow module proxy); later runs reuse ${binaryCacheDir()}`,
  );
  const script = join(repoRoot, 'test', 'cluster', 'build-binaries.sh');
  const child = spawn('bash', [script, KUBERNETES_VERSION, KWOK_VERSION, binaryCacheDir()], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) {
    throw new Error(
      `building the cluster binaries failed (exit ${code}). Needs Go (go version) and the Go module proxy; ` +
        'or set KUBEBUILDER_ASSETS to a directory holding etcd, kube-apiserver, kube-controller-manager, ' +
        'kube-scheduler, kubectl and kwok.',
    );
  }
}

/**
 * Resolves every cluster binary, building missing ones, and links kubectl at `.weft/bin/kubectl`
 * so scripts and docs have one kubectl of the cluster's version.
 */
export async function ensureBinaries(log: (line: string) => void): Promise<BinaryPaths> {
  const missing = missingBinaries();
  if (missing.length > 0) await buildBinaries(missing, log);
  const found = {} as BinaryPaths;
  for (const name of CLUSTER_BINARIES) {
    const file = locateBinary(name);
    if (!file) throw new Error(`${name} is still missing after the build; see the build output above`);
    found[name] = file;
  }
  mkdirSync(paths.binDir, { recursive: true });
  rmSync(paths.kubectl, { force: true });
  symlinkSync(found.kubectl, paths.kubectl);
  return found;
}
