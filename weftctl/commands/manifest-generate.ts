import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { renderOperatorInstall } from '../../cdk8s/operator-install.js';
import { exitCodes, type ExitCode } from '../cli-error.js';
import type { Io } from '../io.js';
import { packageRoot, weftVersion } from '../package-info.js';

/** The generated CRD files (crds/generated/*.yaml), in name order, as they are on disk. */
export function readGeneratedCrds(root: string = packageRoot()): string[] {
  const dir = join(root, 'crds', 'generated');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/**
 * One multi-document YAML stream: the CRDs first, so that a single kubectl apply (or an Argo CD sync
 * wave) has the APIs before anything uses them, then the operator's install objects. Pure.
 */
export function manifestStream(
  version: string,
  crds: readonly string[],
  install: readonly KubernetesObject[],
): string {
  const header = `# Weft ${version}: CRDs and operator install, from weftctl manifest generate.\n`;
  const documents = [
    ...crds.map((crd) => crd.trimEnd() + '\n'),
    ...install.map((o) => stringify(o, { lineWidth: 0 })),
  ];
  return header + documents.map((d) => `---\n${d}`).join('');
}

export function manifestGenerate(
  command: { readonly namespace?: string; readonly image?: string },
  io: Io,
): ExitCode {
  const version = weftVersion();
  const install = renderOperatorInstall({ version, namespace: command.namespace, image: command.image });
  io.out(manifestStream(version, readGeneratedCrds(), install));
  return exitCodes.ok;
}
