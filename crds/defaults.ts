import { Ajv2020 } from 'ajv/dist/2020.js';
import meshSchema from './generated/schemas/mesh.json' with { type: 'json' };
import type { Mesh, MeshSpec } from './generated/types/mesh.js';

/**
 * Schema defaults applied in code, from the same generated schema the CRD is made of. The API server
 * defaults objects it stores; this lets pure code (renderers, tests, `weftctl analyze`) see the same
 * fully-defaulted spec without repeating a single default by hand.
 */

const ajv = new Ajv2020({ useDefaults: true, strict: false, validateFormats: false, allErrors: true });
const defaultSpec = ajv.compile(meshSchema.properties.spec);

/** Every field of a Mesh spec, with schema defaults filled in. */
export type DefaultedMeshSpec = MeshSpec &
  Required<
    Pick<
      MeshSpec,
      'version' | 'namespace' | 'controlPlane' | 'security' | 'proxy' | 'injection' | 'telemetry'
    >
  >;

/** A defaulted copy of `spec`; the input is not modified. */
export function meshSpecWithDefaults(spec: MeshSpec | undefined): DefaultedMeshSpec {
  const copy = structuredClone(spec ?? {});
  defaultSpec(copy);
  return copy as DefaultedMeshSpec;
}

export function meshWithDefaults(mesh: Mesh): Mesh & { spec: DefaultedMeshSpec } {
  return { ...mesh, spec: meshSpecWithDefaults(mesh.spec) };
}
