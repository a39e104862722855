import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  namespaceManifests,
  namespaceProxies,
  workloadAddress,
  workloadEntry,
} from './control-plane-fixture.js';

describe('control-plane bench fixture', () => {
  it('makes a Sidecar and five objects per service, and one proxy per workload', () => {
    const objects = namespaceManifests('ns0', 100, 100);
    assert.equal(objects.length, 1 + 100 * 5);
    assert.equal(objects[0]!.kind, 'Sidecar');
    assert.equal(namespaceProxies('ns0', 100, 100).length, 200);
    assert.equal(namespaceProxies('ns0', 100, 1)[1]!.id, 'svc100-v2.ns0');
  });

  it('gives 1,000 services x 2 subsets distinct addresses, and a moved workload a new one', () => {
    const addresses = new Set<string>();
    for (let s = 0; s < 1000; s++) for (let j = 0; j < 2; j++) addresses.add(workloadAddress(s, j));
    assert.equal(addresses.size, 2000);
    const moved = workloadEntry('ns0', 0, 0, 1).spec.address as string;
    assert.ok(!addresses.has(moved));
    assert.match(moved, /^127\.\d+\.\d+\.\d+$/);
  });
});
