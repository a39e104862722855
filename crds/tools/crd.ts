import type { JsonSchema } from './schema-resolver.js';

/** What `x-weft-crd` in a schema file says about the CRD besides its schema. */
export interface CrdInfo {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
  readonly printerColumns?: readonly { name: string; type: string; jsonPath: string; description?: string }[];
}

/** JSON Schema keywords a CRD's OpenAPI v3 schema does not accept; they serve the TypeScript types only. */
const DROPPED = new Set(['$schema', '$id', '$defs', 'title', 'tsType', 'x-weft-crd', 'examples', '$comment']);

const DATA_KEYWORDS = new Set(['default', 'enum', 'example']);

/**
 * Converts a resolved JSON Schema node into a structural CRD schema. `additionalProperties: false`
 * keeps the TypeScript types closed but is not allowed beside `properties` in a CRD, where the API
 * server's pruning and strict field validation reject unknown fields instead. Pure.
 */
export function toCrdSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toCrdSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) {
    if (DROPPED.has(key)) continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'const') {
      out.enum = [value];
      continue;
    }
    // Values of these keywords are data, not schemas: copied as they are.
    if (DATA_KEYWORDS.has(key)) {
      out[key] = value;
      continue;
    }
    // Property names are data, not keywords: recurse into each property's schema only.
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, toCrdSchema(sub)]),
      );
      continue;
    }
    out[key] = toCrdSchema(value);
  }
  // An int-or-string is declared by the extension; its JSON Schema `anyOf` must not carry types in a CRD.
  if (out['x-kubernetes-int-or-string'] === true) delete out.anyOf;
  return out;
}

/** The CustomResourceDefinition for one resolved schema. Pure. */
export function renderCrd(info: CrdInfo, schema: JsonSchema): object {
  const openAPIV3Schema = toCrdSchema(schema) as JsonSchema;
  const properties = openAPIV3Schema.properties as JsonSchema;
  // metadata is validated by the API server itself; a CRD may only say it is an object.
  properties.metadata = { type: 'object' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${info.plural}.${info.group}`,
      labels: { 'app.kubernetes.io/part-of': 'weft' },
    },
    spec: {
      group: info.group,
      scope: info.scope,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        ...(info.shortNames ? { shortNames: info.shortNames } : {}),
        ...(info.categories ? { categories: info.categories } : {}),
      },
      versions: [
        {
          name: info.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          ...(info.printerColumns ? { additionalPrinterColumns: info.printerColumns } : {}),
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
