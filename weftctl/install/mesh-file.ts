import type { KubernetesObject } from '@kubernetes/client-node';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { analyze } from '../analyze/analyze.js';
import { readManifests } from '../analyze/documents.js';
import { formatFinding } from '../analyze/report.js';
import { loadKindSchemas } from '../analyze/schemas.js';
import { CliError, exitCodes } from '../cli-error.js';

const MESH_API_VERSION = 'mesh.weft.dev/v1alpha1';

/**
 * The Meshes in `file` (`--mesh`), checked before anything is installed: only Mesh objects, each
 * valid against the Mesh schema, so a typo fails the install at once rather than after the wait.
 */
export function readMeshFile(file: string): (Mesh & KubernetesObject)[] {
  const { objects, unreadable } = readManifests([file]);
  const others = objects.filter((s) => s.object.apiVersion !== MESH_API_VERSION || s.object.kind !== 'Mesh');
  if (others.length > 0)
    throw new CliError(
      `--mesh ${file}: ${others.map((s) => `${s.object.kind ?? '(no kind)'} (${s.source})`).join(', ')} is not a Mesh; --mesh takes Mesh resources only (apiVersion ${MESH_API_VERSION}, kind Mesh); apply the rest with kubectl`,
      exitCodes.problems,
    );
  if (objects.length === 0 && unreadable.length === 0)
    throw new CliError(`--mesh ${file} holds no Mesh; see crds/samples/mesh.yaml`, exitCodes.problems);
  const errors = analyze(objects, unreadable, loadKindSchemas()).findings.filter(
    (f) => f.severity === 'Error',
  );
  if (errors.length > 0)
    throw new CliError(
      `--mesh ${file} is not a valid Mesh, so nothing was installed:\n${errors.map(formatFinding).join('\n')}`,
      exitCodes.problems,
    );
  return objects.map((s) => s.object as Mesh & KubernetesObject);
}
