import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutlierDetectionPolicy } from '../config/generated/proxy-config.js';
import { upstreamHost, type UpstreamHost } from './host.js';
import { OutlierDetector, type OutlierOutcome } from './outlier-detection.js';

function setup(policy: OutlierDetectionPolicy | undefined): {
  od: OutlierDetector;
  clock: { t: number };
} {
  const clock = { t: 1_000_000 };
  return { od: new OutlierDetector(policy, () => clock.t), clock };
}

const host = (i: number): UpstreamHost => upstreamHost({ address: `10.0.0.${i}`, port: 80 });

/** Records `n` outcomes; returns whether the last one ejected the host. */
function fail(
  od: OutlierDetector,
  h: UpstreamHost,
  n: number,
  hostCount = 10,
  outcome: OutlierOutcome = 'http-5xx',
): boolean {
  let ejected = false;
  for (let i = 0; i < n; i++) ejected = od.record(h, outcome, hostCount);
  return ejected;
}

describe('OutlierDetector', () => {
  it('is off without a policy', () => {
    const { od } = setup(undefined);
    const h = host(1);
    assert.equal(od.enabled, false);
    assert.equal(fail(od, h, 100), false);
    assert.equal(od.isEjected(h), false);
  });

  it('ejects after consecutive5xxErrors (default 5) and only then', () => {
    const { od } = setup({});
    const h = host(1);
    assert.equal(fail(od, h, 4), false);
    assert.equal(od.isEjected(h), false);
    assert.equal(od.record(h, 'http-5xx', 10), true);
    assert.equal(od.isEjected(h), true);
    assert.equal(od.ejectedCount(), 1);
  });

  it('counts gateway errors and connect failures as 5xx, and a success resets the run', () => {
    const { od } = setup({ consecutive5xxErrors: 3 });
    const h = host(1);
    od.record(h, 'gateway-error', 10);
    od.record(h, 'connect-failure', 10);
    od.record(h, 'success', 10);
    od.record(h, 'http-5xx', 10);
    assert.equal(od.record(h, 'gateway-error', 10), false);
    assert.equal(od.record(h, 'connect-failure', 10), true);
  });

  it('consecutiveGatewayErrors counts only gateway errors and connect failures', () => {
    const { od } = setup({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 3 });
    const h = host(1);
    assert.equal(fail(od, h, 20, 10, 'http-5xx'), false, '500s do not count; consecutive5xxErrors 0 is off');
    od.record(h, 'gateway-error', 10);
    od.record(h, 'connect-failure', 10);
    od.record(h, 'http-5xx', 10); // a plain 5xx breaks the run
    od.record(h, 'gateway-error', 10);
    od.record(h, 'gateway-error', 10);
    assert.equal(od.isEjected(h), false);
    assert.equal(od.record(h, 'connect-failure', 10), true);
  });

  it('returns the host after baseEjectionTime and restarts its counters', () => {
    const { od, clock } = setup({ baseEjectionTimeMs: 30_000 });
    const h = host(1);
    fail(od, h, 5);
    clock.t += 29_999;
    assert.equal(od.isEjected(h), true);
    clock.t += 1;
    assert.equal(od.isEjected(h), false);
    assert.equal(od.ejectedCount(), 0);
    assert.equal(fail(od, h, 4), false, 'counters restart on return');
  });

  it('multiplies the ejection time by the number of ejections, capped at 300 s', () => {
    const { od, clock } = setup({ baseEjectionTimeMs: 100_000, intervalMs: 1_000_000 });
    const h = host(1);
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      assert.equal(fail(od, h, 5), true);
      const start = clock.t;
      while (od.isEjected(h)) clock.t += 1000;
      durations.push(clock.t - start);
    }
    assert.deepEqual(durations, [100_000, 200_000, 300_000, 300_000, 300_000]);
  });

  it('lets the multiplier decay by one per healthy interval', () => {
    const { od, clock } = setup({ baseEjectionTimeMs: 10_000, intervalMs: 10_000 });
    const h = host(1);
    fail(od, h, 5); // 10 s
    clock.t += 10_000;
    fail(od, h, 5); // 20 s
    clock.t += 20_000;
    fail(od, h, 5); // 30 s
    clock.t += 30_000;
    // Healthy for two intervals: the multiplier drops from 3 to 1, so the next ejection is 20 s.
    clock.t += 20_000;
    fail(od, h, 5);
    clock.t += 19_999;
    assert.equal(od.isEjected(h), true);
    clock.t += 1;
    assert.equal(od.isEjected(h), false);
  });

  it('caps simultaneous ejections at maxEjectionPercent, counting the host to eject (Envoy)', () => {
    const { od } = setup({}); // 10 %
    assert.equal(fail(od, host(1), 5, 10), true, '1 of 10 is 10 %');
    assert.equal(fail(od, host(2), 5, 10), false, '2 of 10 is over');
    assert.equal(od.ejectedCount(), 1);

    const small = setup({}).od;
    assert.equal(fail(small, host(1), 5, 9), false, 'default 10 % ejects nothing below 10 hosts');

    const half = setup({ maxEjectionPercent: 50 }).od;
    assert.equal(fail(half, host(1), 5, 4), true);
    assert.equal(fail(half, host(2), 5, 4), true);
    assert.equal(fail(half, host(3), 5, 4), false);
    assert.equal(half.ejectedCount(), 2);
  });

  it('frees an ejection slot when an ejected host expires or is forgotten', () => {
    const { od, clock } = setup({ maxEjectionPercent: 50 });
    const [a, b, c] = [host(1), host(2), host(3)];
    fail(od, a, 5, 2);
    assert.equal(fail(od, b, 5, 2), false);
    od.forget(a.key);
    assert.equal(od.ejectedCount(), 0);
    assert.equal(od.isEjected(a), false);
    assert.equal(fail(od, b, 5, 2), true);
    assert.equal(fail(od, c, 5, 2), false);
    clock.t += 30_000;
    assert.equal(fail(od, c, 5, 2), true);
  });

  it('ignores outcomes from a host while it is ejected', () => {
    const { od } = setup({});
    const h = host(1);
    fail(od, h, 5);
    assert.equal(fail(od, h, 10), false);
    od.record(h, 'success', 10);
    assert.equal(od.isEjected(h), true);
  });
});
