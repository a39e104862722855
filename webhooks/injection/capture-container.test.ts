import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { captureArgs } from './capture-container.js';
import { podOverrides } from './pod-overrides.js';

const WEFT_INIT = new URL('../../proxy/capture/weft-init.ts', import.meta.url);

/** The rules weft-init itself would install for these arguments (its --dry-run prints them). */
function rulesFor(args: readonly string[]): string {
  const [entrypoint, ...flags] = args;
  assert.equal(entrypoint, 'weft-init');
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(WEFT_INIT), ...flags, '--dry-run'],
    { encoding: 'utf8' },
  );
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

describe('the capture init container and weft-init agree', () => {
  it('on the rules a pod with capture annotations gets', () => {
    const { overrides, problems } = podOverrides({
      'traffic.sidecar.weft.dev/excludeInboundPorts': '9090',
      'traffic.sidecar.weft.dev/excludeOutboundIPRanges': '10.96.0.1/32',
      'traffic.sidecar.weft.dev/excludeOutboundPorts': '5432',
    });
    assert.deepEqual(problems, []);
    const rules = rulesFor(captureArgs(overrides.capture));
    assert.match(rules, /-j REDIRECT --to-ports 15001/);
    assert.match(rules, /-j REDIRECT --to-ports 15006/);
    assert.match(rules, /--uid-owner 1337 -j RETURN/);
    for (const port of [15000, 15021, 15090, 9090])
      assert.match(rules, new RegExp(`-A WEFT_INBOUND -p tcp --dport ${port} -j RETURN`));
    assert.match(rules, /-A WEFT_OUTPUT -d 10\.96\.0\.1\/32 -j RETURN/);
    assert.match(rules, /-A WEFT_OUTPUT -p tcp --dport 5432 -j RETURN/);
  });

  it('on capturing only the inbound ports and outbound ranges a pod includes', () => {
    const { overrides } = podOverrides({
      'traffic.sidecar.weft.dev/includeInboundPorts': '9080',
      'traffic.sidecar.weft.dev/includeOutboundIPRanges': '10.0.0.0/8',
    });
    const rules = rulesFor(captureArgs(overrides.capture));
    assert.match(rules, /--dport 9080 -j WEFT_IN_REDIRECT/);
    assert.doesNotMatch(rules, /-A WEFT_INBOUND -p tcp -j WEFT_IN_REDIRECT/, 'not every inbound port');
    assert.match(rules, /-d 10\.0\.0\.0\/8 -j WEFT_REDIRECT/);
  });
});
