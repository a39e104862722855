import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  outboundConfig,
  route,
  send,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type Upstream,
} from '../helpers/proxy.js';

describe('weft-proxy routing, through a real proxy to real upstreams', () => {
  let v1: Upstream;
  let v2: Upstream;
  let proxy: TestProxy;

  before(async () => {
    v1 = await startUpstream('v1');
    v2 = await startUpstream('v2');
    proxy = await startTestProxy(
      outboundConfig(
        [
          route('default/svc/canary-header', {
            matches: [{ headers: [{ name: 'end-user', match: { exact: 'jason' } }] }],
            clusters: [{ cluster: 'v2', weight: 100 }],
          }),
          route('default/svc/split', {
            clusters: [
              { cluster: 'v1', weight: 80 },
              { cluster: 'v2', weight: 20 },
            ],
          }),
        ],
        [
          { name: 'v1', endpoints: [{ address: '127.0.0.1', port: v1.port }] },
          { name: 'v2', endpoints: [{ address: '127.0.0.1', port: v2.port }] },
        ],
      ),
    );
  });

  after(async () => {
    await proxy.stop();
    await Promise.all([v1.close(), v2.close()]);
  });

  it('splits traffic 80/20 by weight (2,000 requests, within ±4 points, 4.5 standard deviations)', async () => {
    v1.received.length = 0;
    v2.received.length = 0;
    const n = 2_000;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => send(proxy.outbound, '/split')));
    }
    const share = (v2.received.length / n) * 100;
    assert.equal(v1.received.length + v2.received.length, n);
    assert.ok(Math.abs(share - 20) <= 4, `v2 got ${share.toFixed(1)}% of requests, expected 20 ± 4`);
  });

  it('routes on a header match before the split', async () => {
    const before = v2.received.length;
    for (let i = 0; i < 20; i++) {
      const res = await send(proxy.outbound, '/r', { headers: { 'end-user': 'jason' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-upstream'], 'v2');
    }
    assert.equal(v2.received.length - before, 20);
  });

  it('answers 404 (no route) for a host it has no virtual host for, and never forwards it', async () => {
    const before = v1.received.length + v2.received.length;
    const res = await send(proxy.outbound, '/', { host: 'unknown:9080' });
    assert.equal(res.status, 404);
    assert.equal(v1.received.length + v2.received.length, before);
  });
});
