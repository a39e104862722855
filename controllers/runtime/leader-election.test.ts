import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaseExpired, microTime } from './leader-election.js';

describe('leader election', () => {
  it('judges expiry from when the lease was last seen to change, not from its timestamps', () => {
    assert.equal(leaseExpired(1_000, 15_000, 15_999), false);
    assert.equal(leaseExpired(1_000, 15_000, 16_001), true);
  });

  it('writes Lease times with microseconds, as the API server requires', () => {
    assert.equal(String(microTime(new Date('2026-11-26T07:42:10.407Z'))), '2026-11-26T07:42:10.407000Z');
    assert.equal(microTime(undefined), undefined);
  });
});
