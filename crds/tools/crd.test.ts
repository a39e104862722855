import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderCrd, toCrdSchema, type CrdInfo } from './crd.js';
import type { JsonSchema } from './schema-resolver.js';

const info: CrdInfo = {
  group: 'mesh.weft.dev',
  version: 'v1',
  kind: 'Mesh',
  listKind: 'MeshList',
  plural: 'meshes',
  singular: 'mesh',
  shortNames: ['wm'],
  categories: ['weft'],
  scope: 'Cluster',
  printerColumns: [{ name: 'State', type: 'string', jsonPath: '.status.state' }],
};

describe('toCrdSchema', () => {
  it('drops JSON-Schema-only keywords at every depth', () => {
    const out = toCrdSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'mesh.json',
      title: 'Mesh',
      type: 'object',
      additionalProperties: false,
      properties: {
        spec: {
          title: 'MeshSpec',
          type: 'object',
          additionalProperties: false,
          tsType: 'MeshSpec',
          properties: { version: { type: 'string', title: 'Version', examples: ['1.0.0'] } },
        },
      },
    });
    assert.deepEqual(out, {
      type: 'object',
      properties: {
        spec: { type: 'object', properties: { version: { type: 'string' } } },
      },
    });
  });

  it('keeps a schema for free-form maps (additionalProperties that is not false)', () => {
    const out = toCrdSchema({ type: 'object', additionalProperties: { type: 'string', title: 'Value' } });
    assert.deepEqual(out, { type: 'object', additionalProperties: { type: 'string' } });
  });

  it('keeps x-kubernetes-validations, default and enum', () => {
    const node = {
      type: 'object',
      'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'namespace is immutable' }],
      properties: {
        mode: { type: 'string', enum: ['STRICT', 'PERMISSIVE'], default: 'PERMISSIVE' },
        replicas: { type: 'integer', default: 1, minimum: 0 },
      },
    };
    assert.deepEqual(toCrdSchema(node), node);
  });

  it('turns const into a one-value enum', () => {
    assert.deepEqual(toCrdSchema({ type: 'string', const: 'InPlace' }), {
      type: 'string',
      enum: ['InPlace'],
    });
  });

  it('keeps a property literally named title', () => {
    const out = toCrdSchema({
      type: 'object',
      title: 'Book',
      properties: { title: { type: 'string', title: 'The title' }, tsType: { type: 'string' } },
    });
    assert.deepEqual(out, {
      type: 'object',
      properties: { title: { type: 'string' }, tsType: { type: 'string' } },
    });
  });

  it('removes anyOf from int-or-string nodes only', () => {
    const out = toCrdSchema({
      type: 'object',
      properties: {
        quantity: {
          'x-kubernetes-int-or-string': true,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
          pattern: '^[0-9]+m?$',
        },
        either: { anyOf: [{ required: ['a'] }, { required: ['b'] }] },
      },
    }) as { properties: Record<string, JsonSchema> };
    assert.deepEqual(out.properties.quantity, { 'x-kubernetes-int-or-string': true, pattern: '^[0-9]+m?$' });
    assert.deepEqual(out.properties.either, { anyOf: [{ required: ['a'] }, { required: ['b'] }] });
  });

  it('does not modify its input', () => {
    const node = {
      title: 'X',
      type: 'object',
      additionalProperties: false,
      properties: { a: { title: 'A' } },
    };
    const copy = structuredClone(node);
    toCrdSchema(node);
    assert.deepEqual(node, copy);
  });
});

describe('renderCrd', () => {
  const schema: JsonSchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Mesh',
    type: 'object',
    additionalProperties: false,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object', tsType: "import('@kubernetes/client-node').V1ObjectMeta" },
      spec: { type: 'object', additionalProperties: false, properties: { version: { type: 'string' } } },
      status: { type: 'object' },
    },
  };

  it('names the CRD and its resource after the info', () => {
    const crd = renderCrd(info, schema) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { group: string; scope: string; names: object };
    };
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(crd.kind, 'CustomResourceDefinition');
    assert.equal(crd.metadata.name, 'meshes.mesh.weft.dev');
    assert.equal(crd.spec.group, 'mesh.weft.dev');
    assert.equal(crd.spec.scope, 'Cluster');
    assert.deepEqual(crd.spec.names, {
      kind: 'Mesh',
      listKind: 'MeshList',
      plural: 'meshes',
      singular: 'mesh',
      shortNames: ['wm'],
      categories: ['weft'],
    });
  });

  it('serves and stores one version with a status subresource, printer columns and the CRD schema', () => {
    const crd = renderCrd({ ...info, scope: 'Namespaced' }, schema) as {
      spec: { scope: string; versions: Record<string, unknown>[] };
    };
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.equal(crd.spec.versions.length, 1);
    const [version] = crd.spec.versions;
    assert.ok(version);
    assert.equal(version.name, 'v1');
    assert.equal(version.served, true);
    assert.equal(version.storage, true);
    assert.deepEqual(version.subresources, { status: {} });
    assert.deepEqual(version.additionalPrinterColumns, info.printerColumns);
    assert.deepEqual(version.schema, {
      openAPIV3Schema: {
        type: 'object',
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { type: 'object' },
          spec: { type: 'object', properties: { version: { type: 'string' } } },
          status: { type: 'object' },
        },
      },
    });
  });

  it('leaves out optional names and printer columns the info does not give', () => {
    const { shortNames: _s, categories: _c, printerColumns: _p, ...bare } = info;
    const crd = renderCrd(bare, schema) as {
      spec: { names: Record<string, unknown>; versions: Record<string, unknown>[] };
    };
    assert.equal('shortNames' in crd.spec.names, false);
    assert.equal('categories' in crd.spec.names, false);
    assert.equal('additionalPrinterColumns' in crd.spec.versions[0]!, false);
  });

  it('does not modify the schema it renders from', () => {
    const copy = structuredClone(schema);
    renderCrd(info, schema);
    assert.deepEqual(schema, copy);
  });

  it('copies default and enum values as data, never rewriting them as schemas', () => {
    const out = toCrdSchema({
      type: 'object',
      default: { title: 'Dr', const: 1 },
      enum: [{ additionalProperties: false }],
    }) as Record<string, unknown>;
    assert.deepEqual(out.default, { title: 'Dr', const: 1 });
    assert.deepEqual(out.enum, [{ additionalProperties: false }]);
  });
});
