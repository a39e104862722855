import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWrk } from './wrk.js';

const OUTPUT = `Running 5s test @ http://127.0.0.1:28101/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.45us  120.10us   4.20ms   90.12%
    Req/Sec    62.10k     2.01k   65.00k    80.00%
  Latency Distribution
     50%  498.00us
     75%  560.00us
     90%  640.00us
     99%    1.20ms
  309012 requests in 5.00s, 345.23MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  61802.40
Transfer/sec:     69.04MB
`;

describe('wrk output', () => {
  it('reads throughput, percentiles in milliseconds, and errors', () => {
    const r = parseWrk(OUTPUT);
    assert.equal(r.requests, 309012);
    assert.equal(r.rps, 61802.4);
    assert.equal(r.p50_ms, 0.498);
    assert.equal(r.p90_ms, 0.64);
    assert.equal(r.p99_ms, 1.2);
    assert.equal(r.errors, 7);
  });

  it('reads seconds and reports missing figures as NaN, not zero', () => {
    const r = parseWrk('  Latency Distribution\n     50%    2.01s\n');
    assert.equal(r.p50_ms, 2010);
    assert.ok(Number.isNaN(r.p99_ms));
    assert.ok(Number.isNaN(r.rps));
    assert.equal(r.errors, 0);
  });
});
