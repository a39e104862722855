import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caMaterialChanged, type MeshCa } from './mesh-ca.js';

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
