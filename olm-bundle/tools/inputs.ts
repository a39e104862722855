import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { MIN_KUBE_VERSION } from '../../cdk8s/kubernetes-support.js';
import { imageFor } from '../../cdk8s/names.js';
import { renderOperatorInstall } from '../../cdk8s/operator-install.js';
import type { BundleInputs } from './bundle.js';
import type { SampleFile } from './csv.js';

/** Reads what the bundle is built from: the only part of the generator that touches the disk for input. */

export const toolsDir = dirname(fileURLToPath(import.meta.url));
export const bundleDir = join(toolsDir, '..');
export const repoDir = join(bundleDir, '..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return entry.endsWith('.yaml') || entry.endsWith('.yml') ? [path] : [];
    });
}

/** Every document of every YAML file under `dir`, by file; a YAML error names the file. */
export function readSamples(dir: string): SampleFile[] {
  return yamlFiles(dir).map((path) => {
    const docs = parseAllDocuments(readFileSync(path, 'utf8'));
    const objects = docs.map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
      return doc.toJS() as KubernetesObject | null;
    });
    return { file: relative(dir, path), objects: objects.filter((o): o is KubernetesObject => o !== null) };
  });
}

export function readCrds(dir: string): BundleInputs['crdFiles'] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({
      file,
      crd: parse(readFileSync(join(dir, file), 'utf8')) as V1CustomResourceDefinition,
    }));
}

export function readInputs(): BundleInputs {
  const { version } = JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { version: string };
  return {
    version,
    minKubeVersion: MIN_KUBE_VERSION,
    crdFiles: readCrds(join(repoDir, 'crds', 'generated')),
    samples: readSamples(join(repoDir, 'crds', 'samples')),
    // OLM creates the operator's namespace (the OperatorGroup's), so the install leaves it out.
    install: renderOperatorInstall({ version, includeNamespace: false }),
    image: imageFor(version),
    iconSvg: readFileSync(join(toolsDir, 'icon.svg'), 'utf8'),
  };
}
