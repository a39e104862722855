import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ports } from '../cluster/components.js';
import { portInUse } from '../cluster/health.js';
import { down, status, up } from '../cluster/local-cluster.js';

/** `cluster down` must leave nothing running or listening; `cluster up` must bring it all back. */

const listening = (port: number): Promise<boolean> => portInUse(`http://127.0.0.1:${port}`);

describe('local cluster lifecycle', () => {
  it('down stops every component and frees every port; up restores a healthy cluster', async () => {
    const lines: string[] = [];
    await down((l) => lines.push(l));
    const afterDown = await status();
    assert.deepEqual(
      afterDown.filter((c) => c.pid !== undefined || c.healthy).map((c) => c.name),
      [],
      'components still running after down',
    );
    for (const [name, port] of Object.entries(ports)) {
      assert.equal(await listening(port), false, `${name} port ${port} still accepts connections after down`);
    }

    await up((l) => lines.push(l));
    const afterUp = await status();
    assert.deepEqual(
      afterUp.filter((c) => !c.healthy).map((c) => `${c.name}: ${c.detail}`),
      [],
      `unhealthy after up; log:\n${lines.join('\n')}`,
    );
    // A second `up` is a no-op on a healthy cluster.
    const again: string[] = [];
    await up((l) => again.push(l));
    assert.ok(again.filter((l) => l.includes('already running')).length === afterUp.length, again.join('\n'));
  });
});
