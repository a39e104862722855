import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentileOfSorted, round, summariseLatencies } from './latency.js';

describe('latency percentiles', () => {
  it('takes the nearest rank, never interpolating between samples', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentileOfSorted(sorted, 50), 50);
    assert.equal(percentileOfSorted(sorted, 99), 99);
    assert.equal(percentileOfSorted(sorted, 100), 100);
    assert.equal(percentileOfSorted([1, 2, 3], 50), 2);
    assert.equal(percentileOfSorted([7], 99), 7);
  });

  it('is NaN for no samples rather than a made-up zero', () => {
    assert.ok(Number.isNaN(percentileOfSorted([], 50)));
  });

  it('sorts numerically, not as strings', () => {
    const s = summariseLatencies([10, 9, 100, 2, 1]);
    assert.equal(s.p50_ms, 9);
    assert.equal(s.max_ms, 100);
    assert.equal(s.count, 5);
  });

  it('rounds to the given digits', () => {
    assert.equal(round(1.23456, 3), 1.235);
    assert.equal(round(1234.5), 1235);
  });
});
