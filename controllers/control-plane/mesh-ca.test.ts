import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueCertificate } from '../ca/issue.js';
import { caMaterialChanged, trustBundleOf, type MeshCa } from './mesh-ca.js';

const mesh: MeshCa = {
  namespace: 'weft-system',
  trustDomain: 'cluster.local',
  ttlMs: 86_400_000,
  ca: { certPem: 'ca', keyPem: 'key', chainPem: 'chain' },
  rootPem: 'root',
};

describe('mesh CA changes', () => {
  it('re-issues for new certificates or a new key, not for a new workload certificate TTL', () => {
    assert.equal(caMaterialChanged(mesh, { ...mesh, ttlMs: 3_600_000 }), false);
    assert.equal(caMaterialChanged(mesh, { ...mesh, rootPem: 'root\nnew root' }), true);
    assert.equal(caMaterialChanged(mesh, { ...mesh, ca: { ...mesh.ca, keyPem: 'other key' } }), true);
  });
});

describe('trust bundle from root-cert.pem', () => {
  const oldRoot = issueCertificate({ commonName: 'old root', usage: 'ca', validDays: 1 }).certPem;
  const newRoot = issueCertificate({ commonName: 'new root', usage: 'ca', validDays: 1 }).certPem;
  const normalised = (pem: string): string => pem.trimEnd() + '\n';

  it('gives one entry per root, in the order of the file', () => {
    assert.deepEqual(trustBundleOf(oldRoot), [normalised(oldRoot)]);
    assert.deepEqual(trustBundleOf(oldRoot + newRoot), [normalised(oldRoot), normalised(newRoot)]);
    assert.deepEqual(trustBundleOf(newRoot + '\n' + oldRoot), [normalised(newRoot), normalised(oldRoot)]);
  });

  it('lists a root written twice once', () => {
    assert.deepEqual(trustBundleOf(oldRoot + newRoot + oldRoot), [normalised(oldRoot), normalised(newRoot)]);
  });
});
