import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { renderOperatorInstall } from '../../cdk8s/operator-install.js';
import { manifestStream, readGeneratedCrds } from './manifest-generate.js';

describe('weftctl manifest generate', () => {
  const stream = manifestStream('0.1.0', readGeneratedCrds(), renderOperatorInstall({ version: '0.1.0' }));
  const docs = parseAllDocuments(stream).map((d) => d.toJS() as KubernetesObject);

  it('is one YAML stream with every CRD first, then the operator install', () => {
    const kinds = docs.map((d) => d.kind);
    const crds = kinds.filter((k) => k === 'CustomResourceDefinition').length;
    assert.equal(crds, 9, 'the nine Weft CRDs');
    assert.deepEqual(kinds.slice(crds), [
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
    ]);
    assert.ok(docs.some((d) => d.metadata?.name === 'meshes.mesh.weft.dev'));
  });

  it('starts every document with a separator, so it can be appended to and split', () => {
    const [header, ...chunks] = stream.split(/^---\n/m);
    assert.equal(chunks.length, docs.length);
    assert.match(header!, /^(#.*\n)*$/, 'only a comment before the first document');
    assert.match(stream, /^# Weft 0\.1\.0: /);
  });
});
