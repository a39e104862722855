import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { FieldProblem } from '../../webhooks/validation/problems.js';
import { packageRoot } from '../package-info.js';

/** A Weft API as its generated schema describes it (the `x-weft-crd` block). */
export interface WeftKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly scope: 'Namespaced' | 'Cluster';
}

export interface KindSchema {
  readonly info: WeftKind;
  readonly validate: ValidateFunction;
}

/**
 * Every Weft kind's structural schema, compiled from crds/generated/schemas (the same resolved
 * schemas the CRDs are generated from), keyed by `group/version/Kind`. CEL rules are left to the
 * API server: no CEL interpreter runs here.
 */
export function loadKindSchemas(root: string = packageRoot()): Map<string, KindSchema> {
  const dir = join(root, 'crds', 'generated', 'schemas');
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, verbose: true });
  const schemas = new Map<string, KindSchema>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { 'x-weft-crd'?: WeftKind };
    const info = schema['x-weft-crd'];
    if (info)
      schemas.set(kindKey(`${info.group}/${info.version}`, info.kind), {
        info,
        validate: ajv.compile(schema),
      });
  }
  return schemas;
}

export const kindKey = (apiVersion: string, kind: string): string => `${apiVersion}/${kind}`;

/** `/spec/http/0/timeout` as users write it: `spec.http[0].timeout`. Pure. */
export function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

const join2 = (path: string, name: string): string => (path ? `${path}.${name}` : name);

/** One schema error as a field and a message that says what to do. Pure. */
export function schemaProblem(error: ErrorObject): FieldProblem {
  const field = fieldPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: join2(field, String(params.missingProperty)), message: 'is required; add it' };
    case 'additionalProperties':
      return {
        field: join2(field, String(params.additionalProperty)),
        message: 'is not a field of this resource; remove it or check its spelling',
      };
    case 'enum':
      return {
        field,
        message: `${JSON.stringify(error.data)} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default: {
      // verbose: the offending value is on the error, and naming it shows the user what to change.
      const value = typeof error.data === 'object' ? '' : `${JSON.stringify(error.data)} `;
      return { field: field || '(resource)', message: `${value}${error.message ?? error.keyword}` };
    }
  }
}

/** Schema problems of one object, one per field and message (anyOf branches repeat themselves). Pure. */
export function schemaProblems(validate: ValidateFunction, object: unknown): FieldProblem[] {
  if (validate(object)) return [];
  const seen = new Set<string>();
  return (validate.errors ?? []).map(schemaProblem).filter((p) => {
    const key = `${p.field}\u0000${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}
