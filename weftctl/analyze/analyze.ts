import type { KubernetesObject } from '@kubernetes/client-node';
import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import { resourceLabel, type Validate } from '../../webhooks/admission.js';
import { validators } from '../../webhooks/validation/index.js';
import type { FieldProblem } from '../../webhooks/validation/problems.js';
import type { SourcedObject, UnreadableDocument } from './documents.js';
import { kindKey, schemaProblems, type KindSchema } from './schemas.js';

export interface Finding {
  readonly severity: 'Error' | 'Warning';
  /** `Kind namespace/name`, as the webhook names it. */
  readonly resource: string;
  readonly field: string;
  readonly message: string;
  /** Where the object came from: a file and document number, or the cluster. */
  readonly source: string;
}

export interface Analysis {
  readonly findings: readonly Finding[];
  /** Weft resources checked. */
  readonly checked: number;
  /** Objects that are not Weft resources (Deployments, Services...): not Weft's to judge. */
  readonly skipped: number;
}

/** Istio's API groups: a resource in one of them is one `apiVersion` away from being Weft's. */
const ISTIO_GROUPS: Record<string, string> = {
  'networking.istio.io': 'networking.weft.dev/v1',
  'security.istio.io': 'security.weft.dev/v1',
};

const groupOf = (apiVersion: string | undefined): string =>
  apiVersion?.includes('/') ? apiVersion.split('/')[0]! : '';

type Check = (object: KubernetesObject) => {
  errors: readonly FieldProblem[];
  warnings: readonly FieldProblem[];
};

/**
 * The validating webhook's checks. They assume an object the CRD schema admitted, as the API server
 * guarantees; on one it refused they still find most of what else is wrong, and a check that trips
 * over the malformed shape is ignored, since the schema problems already say what to fix.
 */
function webhookChecks(
  validate: Validate | undefined,
  object: KubernetesObject,
  malformed: boolean,
): ReturnType<Check> {
  try {
    return validate?.(object) ?? { errors: [], warnings: [] };
  } catch (err) {
    if (malformed) return { errors: [], warnings: [] };
    throw err;
  }
}

/** The checks for one object, or undefined when it is not Weft's (nor Istio's) to judge. Pure. */
function checkFor(
  object: KubernetesObject,
  schemas: ReadonlyMap<string, KindSchema>,
  validate: ReadonlyMap<string, Validate>,
): Check | undefined {
  const group = groupOf(object.apiVersion);
  const istio = ISTIO_GROUPS[group];
  if (istio) {
    const message = `an Istio resource: Weft does not read ${group}; change apiVersion to ${istio} to port it`;
    return () => ({ errors: [], warnings: [{ field: 'apiVersion', message }] });
  }
  if (!group.endsWith('.weft.dev')) return undefined;
  const schema = schemas.get(kindKey(object.apiVersion!, object.kind ?? ''));
  if (!schema) {
    const known = [...schemas.keys()].sort().join(', ');
    const message = `${object.apiVersion} ${object.kind} is not a Weft API; the APIs are ${known}`;
    return () => ({ errors: [{ field: 'kind', message }], warnings: [] });
  }
  return (o) => {
    const structural = schemaProblems(schema.validate, o);
    const checks = webhookChecks(validate.get(schema.info.kind), o, structural.length > 0);
    // A field the schema already refuses is reported once, in the schema's words.
    const fresh = (p: FieldProblem): boolean => !structural.some((s) => s.field === p.field);
    return {
      errors: [...structural, ...checks.errors.filter(fresh)],
      warnings: checks.warnings.filter(fresh),
    };
  };
}

/**
 * Checks objects as the API server and the validating webhook would: the CRD schema, then the
 * webhook's validators, with the DestinationRules among them as the context for subset checks.
 * Non-Weft objects are skipped; YAML that could not be read is an error. Pure.
 */
export function analyze(
  objects: readonly SourcedObject[],
  unreadable: readonly UnreadableDocument[],
  schemas: ReadonlyMap<string, KindSchema>,
): Analysis {
  const destinationRules = objects
    .map((s) => s.object)
    .filter((o) => o.kind === 'DestinationRule' && groupOf(o.apiVersion).endsWith('.weft.dev'));
  const validate = validators({ destinationRules: () => destinationRules as DestinationRule[] });
  const findings: Finding[] = unreadable.map((u) => ({
    severity: 'Error',
    resource: '(unreadable)',
    field: '-',
    message: u.message,
    source: u.source,
  }));
  let checked = 0;
  for (const { object, source } of objects) {
    const check = checkFor(object, schemas, validate);
    if (!check) continue;
    checked++;
    const resource = resourceLabel(object, object.kind ?? '(no kind)');
    const result = check(object);
    const finding = (severity: Finding['severity']) => (p: FieldProblem) =>
      ({ severity, resource, field: p.field, message: p.message, source }) satisfies Finding;
    findings.push(...result.errors.map(finding('Error')), ...result.warnings.map(finding('Warning')));
  }
  return { findings, checked, skipped: objects.length - checked };
}
