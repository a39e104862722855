import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import {
  outboundConfig,
  route,
  scrape,
  send,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type Upstream,
} from '../helpers/proxy.js';
import { waitUntil } from '../helpers/wait.js';
import { requestCount } from '../helpers/prometheus.js';

/** A proxy bug that leaves a request hanging fails its test instead of stalling the run. */
const LIMIT = { timeout: 60_000 };

/**
 * Circuit breaking, outlier detection, load balancing and configuration swaps under load, through
 * a real proxy to real upstreams on loopback.
 */

type Reply = Awaited<ReturnType<typeof send>>;

interface AdminCluster {
  name: string;
  hosts: { address: string; activeRequests: number; ejected: boolean }[];
}

async function adminClusters(adminPort: number): Promise<AdminCluster[]> {
  const res = await request(`http://127.0.0.1:${adminPort}/clusters`, { reset: true });
  return (await res.body.json()) as AdminCluster[];
}

async function adminConfigVersion(adminPort: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${adminPort}/config_dump`, { reset: true });
  return ((await res.body.json()) as { version: string }).version;
}

function hostOf(
  clusters: AdminCluster[],
  cluster: string,
  upstream: Upstream,
): AdminCluster['hosts'][number] {
  const host = clusters
    .find((c) => c.name === cluster)
    ?.hosts.find((h) => h.address === `127.0.0.1:${upstream.port}`);
  assert.ok(host, `admin /clusters lists ${upstream.name} in ${cluster}`);
  return host;
}

/** An upstream that holds every request until `release()`, then answers held and later requests at once. */
function holding(upstream: Upstream): { held: ServerResponse[]; release: () => void } {
  const held: ServerResponse[] = [];
  let releasing = false;
  upstream.behave = (_req, res) => {
    res.setHeader('x-upstream', upstream.name);
    if (releasing) return void res.end('released\n');
    held.push(res);
  };
  return {
    held,
    release: () => {
      releasing = true;
      for (const res of held.splice(0)) res.end('released\n');
    },
  };
}

function answering(upstream: Upstream, status = 200): void {
  upstream.behave = (_req, res) => {
    res.setHeader('x-upstream', upstream.name);
    res.statusCode = status;
    res.end(`${upstream.name} ${status}\n`);
  };
}

const at = (u: Upstream): { address: string; port: number } => ({ address: '127.0.0.1', port: u.port });
const only = (cluster: string, prefix: string): Parameters<typeof outboundConfig>[0][number] =>
  route(`default/svc${prefix}`, { matches: [{ uri: { prefix } }], clusters: [{ cluster, weight: 100 }] });

describe('weft-proxy circuit breaking, outlier detection and load balancing', () => {
  let breakerUp: Upstream;
  let bad: Upstream;
  let good: Upstream;
  let slow: Upstream;
  let fast: Upstream;
  const ring: Upstream[] = [];
  let proxy: TestProxy;
  const releases: (() => void)[] = [];

  before(async () => {
    breakerUp = await startUpstream('breaker');
    bad = await startUpstream('bad');
    good = await startUpstream('good');
    slow = await startUpstream('slow');
    fast = await startUpstream('fast');
    for (const name of ['r1', 'r2', 'r3']) ring.push(await startUpstream(name));
    proxy = await startTestProxy(
      outboundConfig(
        [
          only('breaker', '/breaker'),
          only('outlier', '/outlier'),
          only('least', '/least'),
          only('ring', '/ring'),
        ],
        [
          {
            name: 'breaker',
            endpoints: [at(breakerUp)],
            connectionPool: { maxConnections: 1, maxPendingRequests: 1 },
          },
          {
            name: 'outlier',
            endpoints: [at(bad), at(good)],
            outlierDetection: {
              consecutive5xxErrors: 3,
              intervalMs: 1_000,
              baseEjectionTimeMs: 2_000,
              maxEjectionPercent: 50,
            },
          },
          { name: 'least', endpoints: [at(slow), at(fast)], loadBalancer: { policy: 'LEAST_REQUEST' } },
          {
            name: 'ring',
            endpoints: ring.map(at),
            loadBalancer: { policy: 'RING_HASH', hashOn: { header: 'x-user' } },
          },
        ],
      ),
    );
  });

  after(async () => {
    for (const release of releases) release();
    await proxy.stop();
    await Promise.all([breakerUp, bad, good, slow, fast, ...ring].map((u) => u.close()));
  });

  it(
    'answers 503 (flag UO) beyond maxConnections + maxPendingRequests, and completes the admitted requests',
    LIMIT,
    async () => {
      const flags = { response_code: '503', response_flags: 'UO' };
      const overflowsBefore = requestCount(await scrape(proxy.metrics), flags);
      const { held, release } = holding(breakerUp);
      releases.push(release);
      const done: Reply[] = [];
      const all = Array.from({ length: 5 }, (_, i) =>
        send(proxy.outbound, `/breaker/${i}`).then((r) => (done.push(r), r)),
      );
      // One request holds the only connection, one waits for it; the other three overflow.
      await waitUntil('three requests answered while the upstream holds the first one', () => ({
        done: done.length === 3 && held.length === 1,
        state: {
          answered: done.map((r) => r.status),
          held: held.length,
          received: breakerUp.received.length,
        },
      }));
      for (const r of done) {
        assert.equal(r.status, 503);
        assert.match(r.body, /overflow/);
      }
      assert.equal(breakerUp.received.length, 1, 'the pending request waits in the proxy for the connection');
      release();
      const results = await Promise.all(all);
      assert.deepEqual(
        results.map((r) => r.status).sort(),
        [200, 200, 503, 503, 503],
        'the held request and the pending one complete once released',
      );
      assert.equal(breakerUp.received.length, 2);
      await waitUntil('the overflows counted with response flag UO', async () => {
        const now = requestCount(await scrape(proxy.metrics), flags);
        return { done: now === overflowsBefore + 3, state: { overflowsBefore, now } };
      });
    },
  );

  it(
    'ejects a host that keeps answering 500, sends everything to the healthy one, and tries it again after the ejection time',
    LIMIT,
    async () => {
      // Arrival times at the bad host, to check that nothing reached it while it was ejected.
      const badArrivals: number[] = [];
      let lastBadFailureAt = 0;
      bad.behave = (_req, res) => {
        badArrivals.push(Date.now());
        res.statusCode = 500;
        res.end('bad 500\n');
        lastBadFailureAt = Date.now();
      };
      answering(good);
      // Round robin alternates: the bad host answers its third consecutive 500 within about six requests.
      await waitUntil('the bad host ejected (admin /clusters)', async () => {
        await send(proxy.outbound, '/outlier/probe');
        const host = hostOf(await adminClusters(proxy.admin), 'outlier', bad);
        return { done: host.ejected, state: { host, badRequests: badArrivals.length } };
      });
      assert.equal(badArrivals.length, 3, 'ejected after exactly three consecutive 500s');
      // The ejection began after the bad host sent its third 500, so it lasts at least until then + 2 s.
      const ejectedAtLeastUntil = lastBadFailureAt + 2_000;
      const goodBefore = good.received.length;
      const batch: { res: Reply; endedAt: number }[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await send(proxy.outbound, `/outlier/${i}`);
        batch.push({ res, endedAt: Date.now() });
      }
      const withinEjection = batch.filter((b) => b.endedAt < ejectedAtLeastUntil);
      for (const { res } of withinEjection) {
        assert.equal(res.status, 200);
        assert.equal(res.headers['x-upstream'], 'good');
      }
      assert.ok(
        badArrivals.slice(3).every((t) => t >= ejectedAtLeastUntil),
        'no request reached the bad host during its 2 s ejection',
      );
      assert.equal(
        good.received.length - goodBefore,
        batch.filter((b) => b.res.headers['x-upstream'] === 'good').length,
      );

      // The host recovers; once its ejection time is up it is tried again, and serves.
      answering(bad);
      const badBefore = bad.received.length;
      await waitUntil(
        'the recovered host receiving requests again',
        async () => {
          await send(proxy.outbound, '/outlier/after');
          return { done: bad.received.length > badBefore, state: bad.received.length - badBefore };
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
      assert.ok(badArrivals.slice(3).every((t) => t >= ejectedAtLeastUntil));
      assert.equal(hostOf(await adminClusters(proxy.admin), 'outlier', bad).ejected, false);
    },
  );

  it('LEAST_REQUEST sends new requests to the host with fewer requests in flight', LIMIT, async () => {
    const { held, release } = holding(slow);
    releases.push(release);
    answering(fast);
    slow.received.length = 0;
    fast.received.length = 0;
    // Idle hosts tie and are picked at random: send until one request is stuck on the slow host.
    const stuck: Promise<Reply>[] = [];
    for (let i = 0; held.length === 0; i++) {
      assert.ok(i < 60, 'a request reached the slow host within 60 requests (each has a 1/2 chance)');
      const seen = slow.received.length + fast.received.length;
      const pending = send(proxy.outbound, `/least/warm-${i}`);
      await waitUntil(
        'the request to reach an upstream',
        () => ({
          done: slow.received.length + fast.received.length > seen,
        }),
        { intervalMs: 5 },
      );
      if (held.length > 0) stuck.push(pending);
      else assert.equal((await pending).status, 200);
    }
    const fastBefore = fast.received.length;
    for (let i = 0; i < 20; i++) {
      const seen = slow.received.length + fast.received.length;
      const pending = send(proxy.outbound, `/least/${i}`);
      await waitUntil(
        `request ${i} to reach an upstream`,
        () => ({
          done: slow.received.length + fast.received.length > seen,
        }),
        { intervalMs: 5 },
      );
      assert.equal(slow.received.length, 1, `request ${i} went to the host that has a request in flight`);
      const res = await pending;
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-upstream'], 'fast');
    }
    assert.equal(fast.received.length - fastBefore, 20);
    assert.equal(slow.received.length, 1);
    release();
    const [late] = await Promise.all(stuck);
    assert.equal(late?.status, 200);
  });

  it('RING_HASH on x-user sends each user to the same host every time', LIMIT, async () => {
    for (const u of ring) answering(u);
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const hostsOf = new Map<string, Set<string>>(users.map((u) => [u, new Set()]));
    for (let round = 0; round < 5; round++) {
      for (const user of users) {
        const res = await send(proxy.outbound, `/ring/${round}`, { headers: { 'x-user': user } });
        assert.equal(res.status, 200);
        hostsOf.get(user)!.add(String(res.headers['x-upstream']));
      }
    }
    for (const [user, hosts] of hostsOf)
      assert.equal(hosts.size, 1, `${user} went to ${[...hosts].join(', ')}`);
    const used = new Set([...hostsOf.values()].flatMap((s) => [...s]));
    // 20 users over 3 hosts on a 1,024-point ring: all on one host has probability about 3 × 3^-20.
    assert.ok(used.size >= 2, `users spread over ${used.size} host(s)`);
  });
});

describe('weft-proxy configuration swaps under load', () => {
  const ups: Upstream[] = [];
  let proxy: TestProxy;

  /** Route weights between clusters a and b, and each cluster's endpoints and settings. */
  function snapshot(
    weights: { a: number; b: number },
    a: Upstream[],
    b: Upstream[],
    aSettings: { loadBalancer?: { policy: 'ROUND_ROBIN' | 'LEAST_REQUEST' } } = {},
  ): ProxyConfig {
    return outboundConfig(
      [
        route('default/svc/split', {
          clusters: [
            { cluster: 'a', weight: weights.a },
            { cluster: 'b', weight: weights.b },
          ],
        }),
      ],
      [
        { name: 'a', endpoints: a.map(at), ...aSettings },
        { name: 'b', endpoints: b.map(at) },
      ],
    );
  }

  before(async () => {
    for (const name of ['u1', 'u2', 'u3']) {
      const u = await startUpstream(name);
      answering(u);
      ups.push(u);
    }
    const [u1, u2, u3] = ups as [Upstream, Upstream, Upstream];
    proxy = await startTestProxy(snapshot({ a: 50, b: 50 }, [u1, u2], [u3]));
  });

  after(async () => {
    await proxy.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it(
    'serves every request while snapshots change weights, endpoints and cluster settings',
    LIMIT,
    async () => {
      const [u1, u2, u3] = ups as [Upstream, Upstream, Upstream];
      const snapshots: ProxyConfig[] = [
        snapshot({ a: 100, b: 0 }, [u1], [u3]),
        snapshot({ a: 20, b: 80 }, [u2, u3], [u3]),
        snapshot({ a: 50, b: 50 }, [u1, u2, u3], [u1]),
        snapshot({ a: 50, b: 50 }, [u1, u2, u3], [u1], { loadBalancer: { policy: 'LEAST_REQUEST' } }),
        snapshot({ a: 0, b: 100 }, [u2], [u2, u3]),
        snapshot({ a: 70, b: 30 }, [u3], [u1], { loadBalancer: { policy: 'ROUND_ROBIN' } }),
        snapshot({ a: 50, b: 50 }, [u1, u2], [u3]),
        snapshot({ a: 0, b: 100 }, [u1], [u3]),
      ];
      const failures: string[] = [];
      let completed = 0;
      let stop = false;
      const loop = async (id: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          try {
            const res = await send(proxy.outbound, `/load/${id}/${i}`);
            if (res.status !== 200) failures.push(`${res.status} ${res.body.trim()}`);
          } catch (err) {
            failures.push(`client error: ${(err as Error).message}`);
          }
          completed++;
        }
      };
      const loops = Array.from({ length: 20 }, (_, id) => loop(id));
      try {
        for (const [i, config] of snapshots.entries()) {
          // Each swap lands while the 20 loops have requests in flight: wait for 100 more to complete.
          const mark = completed;
          await waitUntil(`100 requests under snapshot v${i + 1}`, () => ({
            done: completed >= mark + 100,
            state: { completed, failures: failures.slice(0, 5) },
          }));
          const error = proxy.proxy.applySnapshot(config, `v${i + 2}`);
          assert.equal(error, undefined, `snapshot v${i + 2} accepted`);
        }
        const mark = completed;
        await waitUntil('100 requests under the last snapshot', () => ({
          done: completed >= mark + 100,
          state: { completed },
        }));
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      assert.deepEqual(failures, [], `${failures.length} of ${completed} requests failed`);
      // The last snapshot sends everything to b, whose only endpoint is u3.
      const before = u3.received.length;
      for (let i = 0; i < 10; i++) {
        const res = await send(proxy.outbound, `/after/${i}`);
        assert.equal(res.headers['x-upstream'], 'u3');
      }
      assert.equal(u3.received.length - before, 10);
    },
  );

  it(
    'refuses a snapshot whose route names a missing cluster, naming the field, and keeps serving the old one',
    LIMIT,
    async () => {
      const [u1, u2, u3] = ups as [Upstream, Upstream, Upstream];
      assert.equal(proxy.proxy.applySnapshot(snapshot({ a: 0, b: 100 }, [u1], [u3]), 'good'), undefined);
      const versionBefore = await adminConfigVersion(proxy.admin);
      assert.equal(versionBefore, 'good');
      const invalid = snapshot({ a: 50, b: 50 }, [u1], [u2]);
      invalid.routes[0]!.virtualHosts[0]!.routes[0]!.clusters![1]!.cluster = 'missing';
      const error = proxy.proxy.applySnapshot(invalid, 'bad-version');
      assert.ok(error instanceof Error, 'the snapshot is refused');
      assert.match(error.message, /routes\[0\]\.virtualHosts\[0\]\.routes\[0\]\.clusters\[1\]\.cluster/);
      assert.match(error.message, /missing/);
      assert.equal(await adminConfigVersion(proxy.admin), versionBefore);
      // The good snapshot (everything to b, that is u3) is still in force.
      for (let i = 0; i < 10; i++) {
        const res = await send(proxy.outbound, `/still/${i}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers['x-upstream'], 'u3');
      }
    },
  );
});
