import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KUBERNETES_VERSION } from './versions.js';

/** The repository root, found from this file so scripts work from any working directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Per-checkout state (git-ignored): kubeconfig, kubectl link, cluster PKI, data and logs. */
export const weftDir = join(repoRoot, '.weft');

export const paths = {
  kubeconfig: join(weftDir, 'kubeconfig'),
  kubectl: join(weftDir, 'bin', 'kubectl'),
  binDir: join(weftDir, 'bin'),
  clusterDir: join(weftDir, 'cluster'),
  pkiDir: join(weftDir, 'cluster', 'pki'),
  etcdDataDir: join(weftDir, 'cluster', 'etcd'),
  logDir: join(weftDir, 'cluster', 'logs'),
  runDir: join(weftDir, 'cluster', 'run'),
} as const;

/** Built binaries live outside the repository so every clone and CI run shares them. */
export function binaryCacheDir(): string {
  const base =
    process.env.WEFT_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'weft');
  return join(base, `k8s-${KUBERNETES_VERSION}`);
}
