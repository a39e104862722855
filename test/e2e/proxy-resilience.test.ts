import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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
 * Retries, timeouts, fault injection and upstream keep-alive, through a real proxy to real upstreams
 * on loopback. Each route is reached by its path prefix; the upstreams' behaviour is set per test.
 */

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Answers `status` to the next `failures` requests, then 200 with `ok`. */
function failFirst(upstream: Upstream, failures: number, status: number): void {
  let left = failures;
  upstream.behave = (_req, res) => {
    if (left > 0) {
      left--;
      res.statusCode = status;
      res.end(`failure ${status}\n`);
      return;
    }
    res.end('ok\n');
  };
}

/** Holds the first `count` requests without answering (they are returned, to close later); answers the rest. */
function hangFirst(upstream: Upstream, count: number): ServerResponse[] {
  const hung: ServerResponse[] = [];
  upstream.behave = (_req, res) => {
    if (hung.length < count) return void hung.push(res);
    res.end('ok\n');
  };
  return hung;
}

/**
 * Asserts that something took at least the `ms` a proxy timer waited. Node's timers run on libuv's
 * loop clock, which counts whole milliseconds, so a timer can fire up to 1 ms before `ms` of
 * `performance.now()` time has passed: that millisecond is the tolerance.
 */
function assertTookAtLeast(elapsedMs: number, ms: number, what: string): void {
  assert.ok(elapsedMs >= ms - 1, `${what} took ${elapsedMs.toFixed(1)} ms, expected at least ${ms} ms`);
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const start = performance.now();
  const value = await f();
  return { value, elapsedMs: performance.now() - start };
}

describe('weft-proxy retries, timeouts and faults, through a real proxy to real upstreams', () => {
  let flaky: Upstream;
  let healthy: Upstream;
  let keepAlive: Server;
  let keepAliveHits = 0;
  let proxy: TestProxy;
  const hung: ServerResponse[] = [];

  before(async () => {
    flaky = await startUpstream('flaky');
    healthy = await startUpstream('healthy');
    keepAlive = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        keepAliveHits++;
        res.end('ok\n');
      });
    });
    // Node closes a connection idle for 1 s: a proxy that reuses it later than that races the close.
    keepAlive.keepAliveTimeout = 1_000;
    await new Promise<void>((r) => keepAlive.listen(0, '127.0.0.1', () => r()));
    const refused = await closedPort();
    const to = (cluster: string, prefix: string, fields: Parameters<typeof route>[1] = {}) =>
      route(`default/svc${prefix}`, {
        matches: [{ uri: { prefix } }],
        clusters: [{ cluster, weight: 100 }],
        ...fields,
      });
    proxy = await startTestProxy(
      outboundConfig(
        [
          to('flaky', '/retry-5xx', { retry: { attempts: 2, retryOn: ['5xx'] } }),
          to('flaky', '/retry-gateway', { retry: { attempts: 2, retryOn: ['gateway-error'] } }),
          to('flaky', '/per-try', {
            retry: { attempts: 2, perTryTimeoutMs: 200, retryOn: ['5xx'] },
            // A backstop: without the per-try timeout the test fails with a 504 instead of hanging.
            timeoutMs: 10_000,
          }),
          to('flaky', '/route-timeout', { timeoutMs: 300 }),
          to('flaky', '/timeout-retrying', { timeoutMs: 20, retry: { attempts: 10, retryOn: ['5xx'] } }),
          to('half-dead', '/connect-retry', { retry: { attempts: 2, retryOn: ['connect-failure'] } }),
          to('half-dead', '/connect-no-retry'),
          to('flaky', '/fault-delay', { fault: { delay: { fixedDelayMs: 300, percentage: 100 } } }),
          to('flaky', '/fault-abort', { fault: { abort: { httpStatus: 418, percentage: 100 } } }),
          to('flaky', '/fault-half', { fault: { abort: { httpStatus: 503, percentage: 50 } } }),
          to('keep-alive', '/keep-alive'),
        ],
        [
          { name: 'flaky', endpoints: [{ address: '127.0.0.1', port: flaky.port }] },
          {
            name: 'half-dead',
            endpoints: [
              { address: '127.0.0.1', port: refused },
              { address: '127.0.0.1', port: healthy.port },
            ],
          },
          {
            name: 'keep-alive',
            endpoints: [{ address: '127.0.0.1', port: (keepAlive.address() as AddressInfo).port }],
          },
        ],
      ),
    );
  });

  after(async () => {
    for (const res of hung) res.destroy();
    await proxy.stop();
    keepAlive.closeAllConnections();
    await Promise.all([flaky.close(), healthy.close(), new Promise<void>((r) => keepAlive.close(() => r()))]);
  });

  describe('retries', () => {
    it('retries 503s under retryOn 5xx: the client gets the 200 of the third attempt', LIMIT, async () => {
      flaky.received.length = 0;
      failFirst(flaky, 2, 503);
      const res = await send(proxy.outbound, '/retry-5xx/a');
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok\n');
      assert.equal(flaky.received.length, 3, 'one request and two retries reach the upstream');
    });

    it('does not retry a 500 under retryOn gateway-error (but does retry a 503)', LIMIT, async () => {
      flaky.received.length = 0;
      failFirst(flaky, 1, 500);
      const res = await send(proxy.outbound, '/retry-gateway/a');
      assert.equal(res.status, 500);
      assert.equal(flaky.received.length, 1, 'a 500 is not a gateway error: no retry');

      flaky.received.length = 0;
      failFirst(flaky, 1, 503);
      const retried = await send(proxy.outbound, '/retry-gateway/b');
      assert.equal(retried.status, 200);
      assert.equal(flaky.received.length, 2, 'a 503 is a gateway error: retried once');
    });

    it(
      'passes the last 503 on once the retries are exhausted (attempts + 1 requests, flag URX)',
      LIMIT,
      async () => {
        const before = requestCount(await scrape(proxy.metrics), {
          response_code: '503',
          response_flags: 'URX',
        });
        flaky.received.length = 0;
        failFirst(flaky, Number.POSITIVE_INFINITY, 503);
        const res = await send(proxy.outbound, '/retry-5xx/exhausted');
        assert.equal(res.status, 503);
        assert.equal(res.body, 'failure 503\n', "the client sees the upstream's own last answer");
        assert.equal(flaky.received.length, 3, 'attempts: 2 → exactly 3 requests upstream');
        await waitUntil('the request counted with response flag URX', async () => {
          const now = requestCount(await scrape(proxy.metrics), {
            response_code: '503',
            response_flags: 'URX',
          });
          return { done: now === before + 1, state: { before, now } };
        });
      },
    );

    it(
      'retries a connection failure on the other endpoint (connect-failure), which fails without retries',
      LIMIT,
      async () => {
        // Round robin alternates between the refused port and the healthy one, so of two consecutive
        // requests without retries exactly one goes to the refused port.
        const plain = [
          await send(proxy.outbound, '/connect-no-retry/1'),
          await send(proxy.outbound, '/connect-no-retry/2'),
        ];
        assert.deepEqual(
          plain.map((r) => r.status).sort(),
          [200, 503],
          'without retries, the request sent to the closed port fails',
        );
        assert.match(plain.find((r) => r.status === 503)!.body, /connection failure/);
        healthy.received.length = 0;
        for (let i = 0; i < 10; i++) {
          const res = await send(proxy.outbound, `/connect-retry/${i}`);
          assert.equal(res.status, 200, `request ${i}: ${res.body}`);
          assert.equal(res.headers['x-upstream'], 'healthy');
        }
        assert.equal(healthy.received.length, 10);
      },
    );

    it('replays a POST body intact on the retry', LIMIT, async () => {
      flaky.received.length = 0;
      failFirst(flaky, 1, 503);
      const body = randomBytes(12 * 1024).toString('base64');
      const res = await send(proxy.outbound, '/retry-5xx/post', {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(res.status, 200);
      assert.equal(flaky.received.length, 2);
      for (const [i, seen] of flaky.received.entries()) {
        assert.equal(seen.method, 'POST');
        assert.equal(seen.body.length, body.length, `attempt ${i + 1} body length`);
        assert.ok(seen.body === body, `attempt ${i + 1} received the body byte for byte`);
        assert.equal(seen.headers['content-length'], String(Buffer.byteLength(body)));
      }
    });

    it('abandons an attempt that exceeds perTryTimeoutMs and retries it', LIMIT, async () => {
      flaky.received.length = 0;
      hung.push(...hangFirst(flaky, 1));
      const { value: res, elapsedMs } = await timed(() => send(proxy.outbound, '/per-try/a'));
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok\n');
      assert.equal(flaky.received.length, 2, 'the hung attempt and its retry');
      assertTookAtLeast(
        elapsedMs,
        200,
        'the request (a hung attempt cut by the per-try timeout, then a retry)',
      );
    });
  });

  describe('route timeout', () => {
    it('answers 504 (flag UT) when the upstream does not answer within timeoutMs', LIMIT, async () => {
      const before = requestCount(await scrape(proxy.metrics), {
        response_code: '504',
        response_flags: 'UT',
      });
      flaky.received.length = 0;
      hung.push(...hangFirst(flaky, 1));
      const { value: res, elapsedMs } = await timed(() => send(proxy.outbound, '/route-timeout/a'));
      assert.equal(res.status, 504);
      assert.equal(res.body, 'upstream request timeout');
      assert.equal(flaky.received.length, 1, 'the request did reach the upstream');
      assertTookAtLeast(elapsedMs, 300, 'the timed-out request');
      await waitUntil('the request counted with response flag UT', async () => {
        const now = requestCount(await scrape(proxy.metrics), { response_code: '504', response_flags: 'UT' });
        return { done: now === before + 1, state: { before, now } };
      });
    });

    it(
      'ends a request that is still retrying with 504 (UT) when timeoutMs is up, not with a late retry',
      LIMIT,
      async () => {
        // Every attempt gets a 503 and is retried after a jittered back-off (up to 250 ms from the
        // fourth retry on): 10 retries cannot all fit in 20 ms, so the route timeout ends each request,
        // most often while it waits between two attempts.
        // UT alone, as Envoy flags a route timeout, whether it ends an attempt or a back-off.
        const timeouts = (text: string): number =>
          requestCount(text, { response_code: '504', response_flags: 'UT' });
        const before = timeouts(await scrape(proxy.metrics));
        failFirst(flaky, Number.POSITIVE_INFINITY, 503);
        for (let i = 0; i < 20; i++) {
          const { value: res, elapsedMs } = await timed(() => send(proxy.outbound, `/timeout-retrying/${i}`));
          assert.equal(res.status, 504, `request ${i}: ${res.body}`);
          assert.equal(res.body, 'upstream request timeout');
          assertTookAtLeast(elapsedMs, 20, `request ${i}`);
        }
        await waitUntil('the 20 timeouts counted with response flag UT', async () => {
          const now = timeouts(await scrape(proxy.metrics));
          return { done: now === before + 20, state: { before, now } };
        });
      },
    );
  });

  describe('fault injection', () => {
    it('delays every request by 300 ms and still forwards it (flag DI)', LIMIT, async () => {
      flaky.received.length = 0;
      failFirst(flaky, 0, 200);
      const { value: res, elapsedMs } = await timed(() => send(proxy.outbound, '/fault-delay/a'));
      assert.equal(res.status, 200);
      assert.equal(flaky.received.length, 1);
      assertTookAtLeast(elapsedMs, 300, 'the delayed request');
      await waitUntil('the request counted with response flag DI', async () => {
        const n = requestCount(await scrape(proxy.metrics), { response_code: '200', response_flags: 'DI' });
        return { done: n >= 1, state: n };
      });
    });

    it('aborts every request with 418 without calling the upstream (flag FI)', LIMIT, async () => {
      flaky.received.length = 0;
      for (let i = 0; i < 5; i++) {
        const res = await send(proxy.outbound, `/fault-abort/${i}`);
        assert.equal(res.status, 418);
        assert.equal(res.body, 'fault filter abort');
      }
      assert.equal(flaky.received.length, 0, 'an aborted request never reaches the upstream');
      await waitUntil('the aborts counted with response flag FI', async () => {
        const n = requestCount(await scrape(proxy.metrics), { response_code: '418', response_flags: 'FI' });
        return { done: n === 5, state: n };
      });
    });

    it(
      'aborts about half of 400 requests at percentage 50 (200 ± 50: 5 standard deviations)',
      LIMIT,
      async () => {
        flaky.received.length = 0;
        failFirst(flaky, 0, 200);
        const n = 400;
        const statuses: number[] = [];
        for (let i = 0; i < n; i += 20) {
          const batch = await Promise.all(
            Array.from({ length: 20 }, (_, k) => send(proxy.outbound, `/fault-half/${i + k}`)),
          );
          statuses.push(...batch.map((r) => r.status));
        }
        const aborted = statuses.filter((s) => s === 503).length;
        const passed = statuses.filter((s) => s === 200).length;
        assert.equal(aborted + passed, n, 'every request is either aborted (503) or forwarded (200)');
        assert.equal(flaky.received.length, passed, 'exactly the requests not aborted reach the upstream');
        // Binomial(400, 0.5): standard deviation 10, so ±50 fails about once in 1.7 million runs.
        assert.ok(Math.abs(aborted - 200) <= 50, `${aborted} of ${n} aborted, expected 200 ± 50`);
      },
    );
  });

  describe('upstream keep-alive', () => {
    it(
      'never answers 503 when an idle upstream connection is about to be closed by the server',
      LIMIT,
      async () => {
        // Istio's classic keep-alive 503: the proxy reuses a pooled connection just as the server's
        // 1 s idle timeout closes it. Requests spaced around (and past) that timeout probe the race.
        keepAliveHits = 0;
        const spacingsMs = [1_100, 1_100, 1_100, 1_000, 950, 1_050];
        const first = await send(proxy.outbound, '/keep-alive/0');
        assert.equal(first.status, 200);
        for (const [i, spacing] of spacingsMs.entries()) {
          await sleep(spacing);
          const res = await send(proxy.outbound, `/keep-alive/${i + 1}`);
          assert.equal(
            res.status,
            200,
            `request ${i + 1}, ${spacing} ms after the previous one: ${res.body}`,
          );
        }
        assert.equal(keepAliveHits, spacingsMs.length + 1);
      },
    );
  });
});
