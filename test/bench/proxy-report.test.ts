import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ratioToHaproxy, scenarioTable, targetChecks, verdict, type ScenarioEntry } from './proxy-report.js';
import type { Peer } from './topology.js';

const entry = (
  name: string,
  peer: Peer,
  maxRate: boolean,
  fields: Partial<ScenarioEntry>,
): ScenarioEntry => ({
  name,
  peer,
  maxRate,
  rps: 1000,
  p50_ms: 0.2,
  p90_ms: 0.3,
  p99_ms: 0.5,
  cpu_s_per_1k: peer === 'direct' ? null : 0.05,
  rss_mb: peer === 'direct' ? null : 40,
  ...fields,
});

const ENTRIES: ScenarioEntry[] = [
  entry('1hop-plain', 'direct', false, { p99_ms: 0.1 }),
  entry('1hop-plain', 'haproxy', false, { p99_ms: 0.2, cpu_s_per_1k: 0.02 }),
  entry('1hop-plain', 'weft', false, { p99_ms: 0.8, cpu_s_per_1k: 0.06 }),
  entry('1hop-plain', 'haproxy', true, { rps: 60_000, cpu_s_per_1k: 0.0125 }),
  entry('1hop-plain', 'weft', true, { rps: 20_000, cpu_s_per_1k: 0.05 }),
  entry('2hop-mtls', 'direct', false, { p99_ms: 0.1 }),
  entry('2hop-mtls', 'haproxy', false, { p99_ms: 0.4 }),
  entry('2hop-mtls', 'weft', false, { p99_ms: 1.3 }),
];

describe('proxy report', () => {
  it('divides by HAProxy in the same scenario and load mode only', () => {
    const weftMax = ENTRIES.find((e) => e.peer === 'weft' && e.maxRate)!;
    assert.equal(ratioToHaproxy(ENTRIES, weftMax, 'rps'), 1 / 3);
    assert.equal(ratioToHaproxy(ENTRIES, weftMax, 'cpu_s_per_1k'), 4);
    const direct = ENTRIES[0]!;
    assert.equal(ratioToHaproxy(ENTRIES, direct, 'cpu_s_per_1k'), undefined);
    assert.equal(ratioToHaproxy(ENTRIES, entry('2hop-plain', 'weft', false, {}), 'p99_ms'), undefined);
  });

  it('checks the proxy issue targets from the right rows', () => {
    const targets = targetChecks(ENTRIES, 62);
    const by = (prefix: string): (typeof targets)[number] =>
      targets.find((t) => t.target.startsWith(prefix))!;
    assert.equal(by('added p99').measured, 1.2); // weft 2hop-mtls p99 minus direct's, at 1,000 rps
    assert.equal(by('added p99').met, false);
    assert.equal(by('rps per core').measured, 20_000); // 1000 / 0.05 CPU s per 1k at max rate
    assert.equal(by('rps per core').met, true);
    assert.equal(by('vCPU').measured, 0.06);
    assert.equal(by('RSS').met, false);
  });

  it('leaves out targets this run did not measure', () => {
    assert.deepEqual(
      targetChecks([], undefined).map((t) => t.target),
      [],
    );
  });

  it('says by how much a target is met or missed', () => {
    assert.equal(verdict(0.3, 0.5, 'atMost', 'ms'), 'met: 0.3 ms (0.6x the limit)');
    assert.equal(verdict(1.2, 0.5, 'atMost', 'ms'), 'missed by 0.7 ms: 1.2 ms (2.4x the limit)');
    assert.equal(verdict(12_000, 15_000, 'atLeast', 'rps'), 'missed by 3000 rps: 12000 rps (0.8x the floor)');
  });

  it('renders one table row per entry with dashes where a figure does not apply', () => {
    const table = scenarioTable(ENTRIES);
    assert.equal(table.length, ENTRIES.length + 2);
    assert.match(
      table[2]!,
      /^\| 1hop-plain \| direct \| 1,000 rps \| 1000 \| 0\.2 \| 0\.3 \| 0\.1 \| – \| – \| 0\.5x \| – \|$/,
    );
    assert.match(table[6]!, /\| 0\.33x \| 4x \|$/);
  });
});
