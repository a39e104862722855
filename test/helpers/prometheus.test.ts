import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricValue, parseMetrics, requestCount } from './prometheus.js';

const EXPOSITION = `# HELP weft_requests_total Requests.
# TYPE weft_requests_total counter
weft_requests_total{reporter="source",response_code="200",path="a\\"b"} 3
weft_requests_total{reporter="source",response_code="503",response_flags="UO"} 2
weft_requests_total{reporter="destination",response_code="200"} 5
weft_push_connected_proxies 7
`;

describe('prometheus exposition', () => {
  it('parses samples with labels (escaped quotes included) and without', () => {
    const samples = parseMetrics(EXPOSITION);
    assert.equal(samples.length, 4);
    assert.deepEqual(samples[0]!.labels, { reporter: 'source', response_code: '200', path: 'a\\"b' });
    assert.deepEqual(parseMetrics(EXPOSITION, 'weft_push_connected_proxies'), [
      { name: 'weft_push_connected_proxies', labels: {}, value: 7 },
    ]);
  });

  it('sums the samples whose labels include the given pairs', () => {
    assert.equal(requestCount(EXPOSITION, { reporter: 'source' }), 5);
    assert.equal(requestCount(EXPOSITION, { response_code: '200' }), 8);
    assert.equal(requestCount(EXPOSITION, { response_flags: 'UO', reporter: 'source' }), 2);
    assert.equal(requestCount(EXPOSITION, { reporter: 'nobody' }), 0);
    assert.equal(metricValue(EXPOSITION, 'weft_push_connected_proxies'), 7);
  });
});
