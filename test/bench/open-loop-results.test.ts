import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  correctToSchedule,
  parseVegetaJsonLines,
  rfc3339ToMicros,
  summariseOpenLoop,
  type Hit,
} from './open-loop-results.js';

const openLoopSummary = (hits: Hit[], rate: number, seconds: number): ReturnType<typeof summariseOpenLoop> =>
  summariseOpenLoop([correctToSchedule(hits, rate)], seconds);

const hit = (seq: number, sentAtUs: number, latencyUs: number, code = 200, error = ''): Hit => ({
  seq,
  sentAtUs,
  latencyUs,
  code,
  error,
});

describe('vegeta results', () => {
  it('reads RFC 3339 timestamps to the microsecond, whatever number of fraction digits Go kept', () => {
    const base = Date.parse('2026-11-26T10:58:03Z') * 1000;
    assert.equal(rfc3339ToMicros('2026-11-26T10:58:03.217256493Z'), base + 217_256);
    assert.equal(rfc3339ToMicros('2026-11-26T10:58:03.5Z'), base + 500_000);
    assert.equal(rfc3339ToMicros('2026-11-26T10:58:03Z'), base);
    assert.equal(rfc3339ToMicros('2026-11-26T11:58:03.000001+01:00'), base + 1);
    assert.throws(() => rfc3339ToMicros('yesterday'), /RFC 3339/);
  });

  it('parses encode -to json lines, latency from nanoseconds to microseconds', () => {
    const text = [
      '{"attack":"","seq":1,"code":200,"timestamp":"2026-11-26T10:58:03.217256493Z","latency":298425,"bytes_out":0,"bytes_in":0,"error":"","body":null}',
      '{"attack":"","seq":0,"code":0,"timestamp":"2026-11-26T10:58:03.216504282Z","latency":1207069,"error":"connect: connection refused","body":null}',
      '',
    ].join('\n');
    const hits = parseVegetaJsonLines(text);
    assert.equal(hits.length, 2);
    assert.equal(hits[0]!.seq, 1);
    assert.equal(hits[0]!.latencyUs, 298.425);
    assert.equal(hits[1]!.error, 'connect: connection refused');
  });
});

describe('open-loop latency', () => {
  it('is the response latency when every request went out on time', () => {
    // 1,000 rps: one request per millisecond, each answered in 0.2 ms.
    const hits = Array.from({ length: 1000 }, (_, i) => hit(i, 5_000_000 + i * 1000, 200));
    const s = openLoopSummary(hits, 1000, 1);
    assert.equal(s.p50_ms, 0.2);
    assert.equal(s.p99_ms, 0.2);
    assert.equal(s.sendLagP99Ms, 0);
    assert.equal(s.rps, 1000);
    assert.equal(s.errors, 0);
  });

  it('charges a stall to every request that should have gone out during it (coordinated omission)', () => {
    // Requests 100..149 were due 1 ms apart but all left at once 50 ms late, after a stall.
    const hits = Array.from({ length: 1000 }, (_, i) =>
      hit(i, i >= 100 && i < 150 ? 150_000 : i * 1000, 200),
    );
    const s = openLoopSummary(hits, 1000, 1);
    assert.equal(s.p50_ms, 0.2);
    // 50 of 1,000 requests waited 1..50 ms: the p99 lands inside the stall, not on the 0.2 ms floor.
    assert.ok(s.p99_ms > 40, `p99 ${s.p99_ms}`);
    assert.equal(s.max_ms, 50.2);
  });

  it('anchors the schedule so that no request counts as early', () => {
    // The first request left 3 ms late and the rest on a schedule 3 ms later: no lag at all.
    const hits = Array.from({ length: 10 }, (_, i) => hit(i, 3000 + i * 1000, 100));
    assert.equal(openLoopSummary(hits, 1000, 0.01).sendLagP99Ms, 0);
  });

  it('counts failures and keeps them out of the percentiles', () => {
    const hits = [hit(0, 0, 100), hit(1, 1000, 100, 502), hit(2, 2000, 100, 0, 'timeout'), hit(3, 3000, 300)];
    const s = openLoopSummary(hits, 1000, 1);
    assert.equal(s.errors, 2);
    assert.equal(s.requests, 4);
    assert.equal(s.rps, 2);
    assert.equal(s.max_ms, 0.3);
  });

  it('pools rounds, each on its own schedule', () => {
    const a = correctToSchedule([hit(0, 0, 100), hit(1, 1000, 100)], 1000);
    const b = correctToSchedule([hit(0, 9_000_000, 500), hit(1, 9_001_000, 500)], 1000);
    const s = summariseOpenLoop([a, b], 2);
    assert.equal(s.requests, 4);
    assert.equal(s.sendLagP99Ms, 0);
    assert.equal(s.p50_ms, 0.1);
    assert.equal(s.max_ms, 0.5);
    assert.equal(s.rps, 2);
  });
});
