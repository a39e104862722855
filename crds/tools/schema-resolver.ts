import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Loads the JSON Schemas in `crds/schemas/` and inlines every `$ref`, because CRD schemas cannot refer
 * to each other. A single-element `allOf` (the JSON Schema way to add a description or default to a
 * `$ref`) is merged into its parent, since structural CRD schemas forbid types inside `allOf`.
 */

export type JsonSchema = { [key: string]: unknown };

/** Keywords that describe a use of a definition without changing its shape. */
const ANNOTATIONS = new Set(['description', 'default', 'x-kubernetes-validations', '$comment', 'examples']);

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

export class SchemaResolver {
  private readonly files = new Map<string, JsonSchema>();
  /** One object per definition, so the type generator sees one type where a definition is reused. */
  private readonly inlined = new Map<string, JsonSchema>();

  /**
   * `forTypes`: a reference annotated only with a description, default or CEL rule resolves to the
   * shared definition itself, so the type generator emits one type (TrafficPolicy), not one per use
   * (TrafficPolicy1, TrafficPolicy2). The CRD keeps the annotations.
   */
  constructor(
    private readonly dir: string,
    private readonly options: { forTypes?: boolean } = {},
  ) {}

  load(file: string): JsonSchema {
    let schema = this.files.get(file);
    if (!schema) {
      schema = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as JsonSchema;
      this.files.set(file, schema);
    }
    return schema;
  }

  /** The schema of `file` with every reference inlined; `$defs` are dropped once inlined. */
  resolve(file: string): JsonSchema {
    const { $defs, ...root } = this.load(file);
    return this.resolveNode(root, file, []) as JsonSchema;
  }

  private lookup(ref: string, currentFile: string): { node: JsonSchema; file: string } {
    const [filePart, pointer = ''] = ref.split('#');
    const file = filePart ? filePart : currentFile;
    let node: unknown = this.load(file);
    for (const segment of pointer.split('/').filter(Boolean)) {
      node = isObject(node) ? node[segment] : undefined;
    }
    if (!isObject(node)) throw new Error(`${currentFile}: $ref ${ref} does not resolve`);
    return { node, file };
  }

  private resolveNode(node: unknown, file: string, stack: readonly string[]): unknown {
    if (Array.isArray(node)) return node.map((item) => this.resolveNode(item, file, stack));
    if (!isObject(node)) return node;

    if (typeof node.$ref === 'string') {
      const target = this.lookup(node.$ref, file);
      const key = `${target.file}#${node.$ref.split('#')[1] ?? ''}`;
      if (stack.includes(key))
        throw new Error(`${file}: recursive $ref ${node.$ref} cannot be inlined into a CRD`);
      let inlined = this.inlined.get(key);
      if (!inlined) {
        inlined = this.resolveNode(target.node, target.file, [...stack, key]) as JsonSchema;
        this.inlined.set(key, inlined);
      }
      const { $ref, ...siblings } = node;
      return Object.keys(siblings).length === 0 || this.onlyAnnotations(siblings)
        ? inlined
        : { ...inlined, ...this.resolveObject(siblings, file, stack) };
    }

    const resolved = this.resolveObject(node, file, stack);
    const allOf = resolved.allOf;
    if (Array.isArray(allOf) && allOf.length === 1 && isObject(allOf[0])) {
      const { allOf: _, ...rest } = resolved;
      return this.onlyAnnotations(rest) ? allOf[0] : { ...allOf[0], ...rest };
    }
    return resolved;
  }

  private onlyAnnotations(siblings: JsonSchema): boolean {
    return this.options.forTypes === true && Object.keys(siblings).every((k) => ANNOTATIONS.has(k));
  }

  private resolveObject(node: JsonSchema, file: string, stack: readonly string[]): JsonSchema {
    const out: JsonSchema = {};
    for (const [key, value] of Object.entries(node)) out[key] = this.resolveNode(value, file, stack);
    return out;
  }
}
