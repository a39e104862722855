import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancerPolicy } from '../config/generated/proxy-config.js';
import { upstreamHost, type UpstreamHost } from './host.js';
import { createLoadBalancer, hashKeyFor, type LoadBalancer } from './load-balancer.js';

/** mulberry32: a seeded generator, so the statistical assertions are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hosts(...weights: number[]): UpstreamHost[] {
  return weights.map((weight, i) => upstreamHost({ address: `10.0.0.${i + 1}`, port: 8080, weight }));
}

const all = (_h: UpstreamHost): boolean => true;

function count(lb: LoadBalancer, list: UpstreamHost[], n: number, available = all): number[] {
  const counts = list.map(() => 0);
  for (let i = 0; i < n; i++) {
    const h = lb.pick({}, available);
    assert.ok(h);
    counts[list.indexOf(h)]!++;
  }
  return counts;
}

function near(actual: number, expected: number, tolerance: number): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

const ringHash = (extra: Partial<LoadBalancerPolicy> = {}): LoadBalancerPolicy => ({
  policy: 'RING_HASH',
  ...extra,
});

describe('round robin', () => {
  it('is the default and cycles through equal-weight hosts in order', () => {
    const list = hosts(1, 1, 1);
    const lb = createLoadBalancer(undefined, list, () => 0);
    const seq = Array.from({ length: 6 }, () => lb.pick({}, all));
    assert.deepEqual(seq, [...list, ...list]);
    assert.deepEqual(count(lb, list, 300), [100, 100, 100]);
  });

  it('interleaves weighted hosts smoothly (nginx sequence)', () => {
    const list = hosts(5, 1, 1);
    const [a, b, c] = list;
    const lb = createLoadBalancer({ policy: 'ROUND_ROBIN' }, list, () => 0);
    const seq = Array.from({ length: 7 }, () => lb.pick({}, all));
    assert.deepEqual(seq, [a, a, b, a, c, a, a]);
  });

  it('gives weighted hosts their share with a random starting phase', () => {
    const list = hosts(3, 1, 6);
    const lb = createLoadBalancer({ policy: 'ROUND_ROBIN' }, list, seeded(1));
    const [x, y, z] = count(lb, list, 10_000);
    near(x!, 3000, 5);
    near(y!, 1000, 5);
    near(z!, 6000, 5);
  });

  it('skips an unavailable host and spreads its turns over the others', () => {
    const list = hosts(1, 1, 1);
    const down = list[0]!;
    const lb = createLoadBalancer(undefined, list, seeded(2));
    const counts = count(lb, list, 3000, (h) => h !== down);
    assert.equal(counts[0], 0);
    near(counts[1]!, 1500, 150);
    near(counts[2]!, 1500, 150);
  });
});

describe('least request (power of two choices)', () => {
  it('sends everything to the idle host of two', () => {
    const list = hosts(1, 1);
    list[0]!.activeRequests = 10;
    const lb = createLoadBalancer({ policy: 'LEAST_REQUEST' }, list, seeded(3));
    assert.deepEqual(count(lb, list, 200), [0, 200]);
  });

  it('prefers less loaded hosts and never picks the most loaded of several', () => {
    const list = hosts(1, 1, 1);
    list[1]!.activeRequests = 5;
    list[2]!.activeRequests = 10;
    const lb = createLoadBalancer({ policy: 'LEAST_REQUEST' }, list, seeded(4));
    const counts = count(lb, list, 3000);
    assert.ok(counts[0]! > counts[1]!, String(counts));
    assert.equal(counts[2], 0);
  });

  it('compares load per unit of weight', () => {
    const list = hosts(1, 4);
    list[0]!.activeRequests = 2; // 3 per weight
    list[1]!.activeRequests = 4; // 1.25 per weight
    const lb = createLoadBalancer({ policy: 'LEAST_REQUEST' }, list, seeded(5));
    assert.deepEqual(count(lb, list, 100), [0, 100]);
  });

  it('falls back to the busier host when the idle one is unavailable', () => {
    const list = hosts(1, 1, 1);
    list[1]!.activeRequests = 3;
    list[2]!.activeRequests = 7;
    const idle = list[0]!;
    const lb = createLoadBalancer({ policy: 'LEAST_REQUEST' }, list, seeded(6));
    const counts = count(lb, list, 1000, (h) => h !== idle);
    assert.equal(counts[0], 0);
    assert.ok(counts[1]! > counts[2]!, String(counts));
  });
});

describe('random', () => {
  it('picks in proportion to weight', () => {
    const list = hosts(1, 3);
    const lb = createLoadBalancer({ policy: 'RANDOM' }, list, seeded(7));
    const counts = count(lb, list, 20_000);
    near(counts[0]!, 5000, 300);
  });

  it('skips unavailable hosts', () => {
    const list = hosts(1, 1, 1, 1);
    const up = list[3]!;
    const lb = createLoadBalancer({ policy: 'RANDOM' }, list, seeded(8));
    assert.deepEqual(
      count(lb, list, 500, (h) => h === up),
      [0, 0, 0, 500],
    );
  });
});

describe('ring hash', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

  function mapping(lb: LoadBalancer, available = all): Map<string, string> {
    return new Map(keys.map((k) => [k, lb.pick({ hashKey: k }, available)!.key]));
  }

  it('maps a key to the same host every time and in every instance, whatever the host order', () => {
    const list = hosts(1, 1, 1, 1, 1);
    const a = createLoadBalancer(ringHash(), list, seeded(9));
    const b = createLoadBalancer(ringHash(), [...list].reverse(), seeded(10));
    const first = a.pick({ hashKey: 'session-42' }, all);
    for (let i = 0; i < 50; i++) assert.equal(a.pick({ hashKey: 'session-42' }, all), first);
    assert.deepEqual(mapping(a), mapping(b));
  });

  it('spreads keys evenly and by weight', () => {
    const even = mapping(createLoadBalancer(ringHash(), hosts(1, 1, 1, 1, 1)));
    const perHost = new Map<string, number>();
    for (const h of even.values()) perHost.set(h, (perHost.get(h) ?? 0) + 1);
    assert.equal(perHost.size, 5);
    for (const n of perHost.values()) near(n, 2000, 500);

    const weighted = hosts(1, 3);
    const counts = [0, 0];
    for (const h of mapping(createLoadBalancer(ringHash(), weighted)).values()) {
      counts[weighted.findIndex((w) => w.key === h)]!++;
    }
    near(counts[0]!, 2500, 500);
  });

  it('moves only the removed host’s keys when a host leaves', () => {
    const list = hosts(1, 1, 1, 1, 1);
    const before = mapping(createLoadBalancer(ringHash(), list));
    const removed = list[2]!.key;
    const after = mapping(
      createLoadBalancer(
        ringHash(),
        list.filter((h) => h.key !== removed),
      ),
    );
    let moved = 0;
    for (const [k, h] of before) {
      if (h === removed) assert.notEqual(after.get(k), removed);
      else if (after.get(k) !== h) moved++;
    }
    assert.equal(moved, 0);
  });

  it('walks past an unavailable host without disturbing other keys, and returns to it', () => {
    const list = hosts(1, 1, 1, 1);
    const lb = createLoadBalancer(ringHash(), list);
    const before = mapping(lb);
    const down = list[1]!.key;
    const during = mapping(lb, (h) => h.key !== down);
    for (const [k, h] of before) {
      if (h === down) assert.notEqual(during.get(k), down);
      else assert.equal(during.get(k), h);
    }
    assert.deepEqual(mapping(lb), before);
  });

  it('finds the last available host and returns undefined when none is', () => {
    const list = hosts(1, 1, 1, 1, 1, 1, 1, 1);
    const only = list[5]!;
    const lb = createLoadBalancer(ringHash({ minimumRingSize: 4096 }), list);
    for (const k of keys.slice(0, 200))
      assert.equal(
        lb.pick({ hashKey: k }, (h) => h === only),
        only,
      );
    assert.equal(
      lb.pick({ hashKey: 'x' }, () => false),
      undefined,
    );
  });

  it('picks at random without a hash key', () => {
    const list = hosts(1, 1);
    const lb = createLoadBalancer(ringHash(), list, seeded(11));
    const counts = count(lb, list, 2000);
    near(counts[0]!, 1000, 150);
  });

  it('builds at least minimumRingSize virtual nodes', () => {
    const size = (lb: LoadBalancer): number => (lb as unknown as { ringSize: number }).ringSize;
    const defaultRing = size(createLoadBalancer(ringHash(), hosts(1, 1, 1)));
    assert.ok(defaultRing >= 1024 && defaultRing < 2048, String(defaultRing));
    const big = size(createLoadBalancer(ringHash({ minimumRingSize: 5000 }), hosts(1, 2, 3)));
    assert.ok(big >= 5000 && big < 10_000, String(big));
  });
});

describe('passthrough and edge cases', () => {
  it('passthrough returns the first available host', () => {
    const list = hosts(1, 1, 1);
    const lb = createLoadBalancer({ policy: 'PASSTHROUGH' }, list);
    assert.equal(lb.pick({}, all), list[0]);
    assert.equal(
      lb.pick({}, (h) => h !== list[0]),
      list[1],
    );
  });

  it('every policy returns undefined with no hosts or none available', () => {
    for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'PASSTHROUGH'] as const) {
      assert.equal(createLoadBalancer({ policy }, []).pick({ hashKey: 'k' }, all), undefined, policy);
      const lb = createLoadBalancer({ policy }, hosts(1, 2, 3));
      assert.equal(
        lb.pick({ hashKey: 'k' }, () => false),
        undefined,
        policy,
      );
    }
  });

  it('every policy copes with a single host', () => {
    for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'PASSTHROUGH'] as const) {
      const list = hosts(3);
      assert.equal(createLoadBalancer({ policy }, list).pick({}, all), list[0], policy);
    }
  });
});

describe('hashKeyFor', () => {
  const req = {
    headers: {
      'x-user': 'alice',
      cookie: 'theme=dark; session="abc123"; other=1',
      'x-multi': ['a', 'b'],
    },
    sourceIp: '10.1.2.3',
    path: '/api/items?page=2&tenant=acme&flag',
  };

  it('reads a header, case-insensitively', () => {
    assert.equal(hashKeyFor(ringHash({ hashOn: { header: 'X-User' } }), req), 'alice');
    assert.equal(hashKeyFor(ringHash({ hashOn: { header: 'x-multi' } }), req), 'a,b');
    assert.equal(hashKeyFor(ringHash({ hashOn: { header: 'x-missing' } }), req), undefined);
  });

  it('reads a cookie', () => {
    assert.equal(hashKeyFor(ringHash({ hashOn: { cookie: { name: 'session' } } }), req), 'abc123');
    assert.equal(hashKeyFor(ringHash({ hashOn: { cookie: { name: 'theme' } } }), req), 'dark');
    assert.equal(hashKeyFor(ringHash({ hashOn: { cookie: { name: 'nope' } } }), req), undefined);
    assert.equal(
      hashKeyFor(ringHash({ hashOn: { cookie: { name: 'session' } } }), { ...req, headers: {} }),
      undefined,
    );
  });

  it('reads the source IP', () => {
    assert.equal(hashKeyFor(ringHash({ hashOn: { sourceIp: true } }), req), '10.1.2.3');
  });

  it('reads a query parameter', () => {
    assert.equal(hashKeyFor(ringHash({ hashOn: { queryParameter: 'tenant' } }), req), 'acme');
    assert.equal(hashKeyFor(ringHash({ hashOn: { queryParameter: 'flag' } }), req), '');
    assert.equal(hashKeyFor(ringHash({ hashOn: { queryParameter: 'ten' } }), req), undefined);
    assert.equal(
      hashKeyFor(ringHash({ hashOn: { queryParameter: 'tenant' } }), { ...req, path: '/api' }),
      undefined,
    );
  });

  it('is undefined without hashOn', () => {
    assert.equal(hashKeyFor(undefined, req), undefined);
    assert.equal(hashKeyFor({ policy: 'ROUND_ROBIN' }, req), undefined);
  });
});
