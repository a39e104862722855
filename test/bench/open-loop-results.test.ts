import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLoadgenLines, summariseOpenLoop, toRun, type LoadgenResult } from './open-loop-results.js';

const result = (seq: number, latencyUs: number, fields: Partial<LoadgenResult> = {}): LoadgenResult => ({
  seq,
  lagUs: 20,
  latencyUs,
  code: 200,
  bytes: 1024,
  error: '',
  ...fields,
});

describe('open-loop results', () => {
  it('parses the loadgen JSON lines', () => {
    const text =
      '{"seq":0,"lagUs":31.567,"latencyUs":725.812,"code":200,"bytes":1024,"error":""}\n' +
      '{"seq":1,"lagUs":35.9,"latencyUs":10000,"code":0,"bytes":0,"error":"dial tcp: connection refused"}\n\n';
    const results = parseLoadgenLines(text);
    assert.equal(results.length, 2);
    assert.equal(results[0]!.latencyUs, 725.812);
    assert.equal(results[1]!.error, 'dial tcp: connection refused');
  });

  it('counts transport errors, wrong bodies and 5xx as errors, out of the percentiles', () => {
    const run = toRun([
      result(0, 100),
      result(1, 5000, { code: 503 }),
      result(2, 9000, { error: 'body of 148 bytes, expected 1024' }),
      result(3, 300),
    ]);
    assert.equal(run.errors, 2);
    assert.deepEqual(run.latenciesMs, [0.1, 0.3]);
    assert.equal(run.sendLagsMs.length, 4);
  });

  it('pools rounds into one set of percentiles, and rps over their total time', () => {
    const a = toRun(Array.from({ length: 100 }, (_, i) => result(i, 100)));
    const b = toRun(
      Array.from({ length: 100 }, (_, i) => result(i, i < 97 ? 200 : 5000, { lagUs: i === 99 ? 900 : 20 })),
    );
    const s = summariseOpenLoop([a, b], 2);
    assert.equal(s.requests, 200);
    assert.equal(s.rps, 100);
    assert.equal(s.p50_ms, 0.1);
    assert.equal(s.p90_ms, 0.2);
    assert.equal(s.p99_ms, 5); // three 5 ms requests: more than the slowest 1%
    assert.equal(s.max_ms, 5);
    assert.equal(s.sendLagP99Ms, 0.02);
  });
});
