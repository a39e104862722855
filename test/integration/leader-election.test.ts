import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ensureCluster } from '../helpers/cluster.js';
import { removeLeftoverMeshes } from '../helpers/mesh.js';
import { httpGet, installCrds, startOperator } from '../helpers/operator.js';
import { waitUntil } from '../helpers/wait.js';

/** Two operator replicas: exactly one leads; when it shuts down it hands the Lease over at once. */
describe('operator leader election', () => {
  let kc: KubeConfig;
  before(async () => {
    kc = await ensureCluster();
    await installCrds();
    await removeLeftoverMeshes(kc);
  });

  it('runs controllers on one replica only, and fails over when the leader stops', async () => {
    const leases = kc.makeApiClient(CoordinationV1Api);
    const first = await startOperator();
    const second = await startOperator();
    try {
      await waitUntil('one replica to lead', () => ({
        done: [first, second].filter((o) => o.logs().includes('"controllers started"')).length === 1,
        state: { first: first.logs().slice(-800), second: second.logs().slice(-800) },
      }));
      const [leader, follower] = first.logs().includes('"controllers started"')
        ? [first, second]
        : [second, first];
      await waitUntil('the follower to sync its caches while it waits', () => ({
        done: follower.logs().includes('"caches synced"'),
        state: follower.logs().slice(-800),
      }));
      assert.match((await httpGet(leader.ports.metrics, '/metrics')).body, /weft_operator_leader 1/);
      assert.match((await httpGet(follower.ports.metrics, '/metrics')).body, /weft_operator_leader 0/);
      assert.equal(
        (await httpGet(follower.ports.probes, '/readyz')).status,
        200,
        'a follower with synced caches is ready',
      );
      assert.ok(!follower.logs().includes('"controllers started"'), 'the follower must not run controllers');

      const lease = await leases.readNamespacedLease({ name: 'weft-operator', namespace: 'default' });
      assert.ok(lease.spec?.holderIdentity, 'the Lease names its holder');

      assert.equal(await leader.stop('SIGTERM'), 0);
      await waitUntil('the follower to take over', () => ({
        done: follower.logs().includes('"controllers started"'),
        state: follower.logs().slice(-800),
      }));
      const after = await leases.readNamespacedLease({ name: 'weft-operator', namespace: 'default' });
      assert.notEqual(after.spec?.holderIdentity, lease.spec?.holderIdentity);
      assert.ok((after.spec?.leaseTransitions ?? 0) > (lease.spec?.leaseTransitions ?? 0));
    } finally {
      await first.stop('SIGTERM');
      await second.stop('SIGTERM');
    }
  });
});
