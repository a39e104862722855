import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../config/config-error.js';
import { type AttemptOutcome, compileRetryPolicy, RetryBudget } from './retry-policy.js';

const PATH = 'routes[0].virtualHosts[0].routes[0].retry';

const on = (retryOn: string[], perTryTimeoutMs?: number) =>
  compileRetryPolicy({ attempts: 3, retryOn, perTryTimeoutMs }, PATH);

const status = (s: number, grpcStatus?: number): AttemptOutcome => ({ status: s, grpcStatus });
const error = (e: 'connect-failure' | 'reset' | 'refused-stream' | 'timeout'): AttemptOutcome => ({
  error: e,
});

/** The outcomes each test probes, and which of them the policy retries. */
const PROBES: Record<string, AttemptOutcome> = {
  '200': status(200),
  '409': status(409),
  '429': status(429),
  '500': status(500),
  '501': status(501),
  '502': status(502),
  '503': status(503),
  '504': status(504),
  'grpc-cancelled': status(200, 1),
  'grpc-deadline': status(200, 4),
  'grpc-exhausted': status(200, 8),
  'grpc-internal': status(200, 13),
  'grpc-unavailable': status(200, 14),
  'grpc-unknown': status(200, 2),
  'connect-failure': error('connect-failure'),
  reset: error('reset'),
  'refused-stream': error('refused-stream'),
  timeout: error('timeout'),
};

function retried(retryOn: string[], perTryTimeoutMs?: number): string[] {
  const p = on(retryOn, perTryTimeoutMs);
  return Object.entries(PROBES)
    .filter(([, o]) => p.shouldRetry(o))
    .map(([name]) => name);
}

describe('compileRetryPolicy: retryOn', () => {
  it('5xx: every 5xx and every reset, connect failure and refused stream', () => {
    assert.deepEqual(retried(['5xx']), [
      '500',
      '501',
      '502',
      '503',
      '504',
      'connect-failure',
      'reset',
      'refused-stream',
    ]);
  });

  it('gateway-error: 502, 503, 504 and every reset', () => {
    assert.deepEqual(retried(['gateway-error']), [
      '502',
      '503',
      '504',
      'connect-failure',
      'reset',
      'refused-stream',
    ]);
  });

  it('reset: every reset, connect failures and refused streams included', () => {
    assert.deepEqual(retried(['reset']), ['connect-failure', 'reset', 'refused-stream']);
  });

  it('connect-failure, refused-stream and retriable-4xx: their own outcome only', () => {
    assert.deepEqual(retried(['connect-failure']), ['connect-failure']);
    assert.deepEqual(retried(['refused-stream']), ['refused-stream']);
    assert.deepEqual(retried(['retriable-4xx']), ['409']);
  });

  it('retriable-status-codes: the codes listed in retryOn, which switch it on by themselves', () => {
    assert.deepEqual(retried(['retriable-status-codes', '429', '501']), ['429', '501']);
    assert.deepEqual(retried(['429']), ['429']);
  });

  it('retriable-status-codes without codes: Istio’s default 503', () => {
    assert.deepEqual(retried(['retriable-status-codes']), ['503']);
  });

  it('gRPC items match the gRPC status', () => {
    assert.deepEqual(retried(['cancelled']), ['grpc-cancelled']);
    assert.deepEqual(retried(['deadline-exceeded']), ['grpc-deadline']);
    assert.deepEqual(retried(['resource-exhausted']), ['grpc-exhausted']);
    assert.deepEqual(retried(['internal']), ['grpc-internal']);
    assert.deepEqual(retried(['unavailable']), ['grpc-unavailable']);
  });

  it('per-try timeouts are retried under 5xx, gateway-error and reset, only with perTryTimeoutMs', () => {
    for (const item of ['5xx', 'gateway-error', 'reset']) {
      assert.ok(on([item], 500).shouldRetry(error('timeout')), item);
      assert.ok(!on([item]).shouldRetry(error('timeout')), item);
    }
    assert.ok(!on(['connect-failure', 'refused-stream', 'retriable-4xx'], 500).shouldRetry(error('timeout')));
    assert.equal(on(['5xx'], 500).perTryTimeoutMs, 500);
    assert.equal(on(['5xx'], 0).perTryTimeoutMs, undefined);
  });

  it('accepts header-driven items that never match, and skips empty items', () => {
    assert.deepEqual(retried(['envoy-ratelimited', 'retriable-headers', ' ']), []);
  });

  it('rejects an unknown item with its path', () => {
    assert.throws(
      () => on(['5xx', 'sometimes']),
      (e: unknown) => e instanceof ConfigError && e.path === `${PATH}.retryOn[1]`,
    );
    assert.throws(() => on(['999']), ConfigError);
    assert.throws(() => on(['toString']), ConfigError);
  });

  it('rejects a negative or fractional attempts', () => {
    assert.throws(
      () => compileRetryPolicy({ attempts: -1 }, PATH),
      (e: unknown) => e instanceof ConfigError && e.path === `${PATH}.attempts`,
    );
    assert.throws(() => compileRetryPolicy({ attempts: 1.5 }, PATH), ConfigError);
  });

  it('without a policy is Istio’s default: 2 attempts, connect-failure, refused-stream, unavailable, cancelled, 503', () => {
    const p = compileRetryPolicy(undefined, PATH);
    assert.equal(p.attempts, 2);
    assert.equal(p.perTryTimeoutMs, undefined);
    const names = Object.entries(PROBES)
      .filter(([, o]) => p.shouldRetry(o))
      .map(([n]) => n);
    assert.deepEqual(names, [
      '503',
      'grpc-cancelled',
      'grpc-unavailable',
      'connect-failure',
      'refused-stream',
    ]);
    assert.equal(compileRetryPolicy({ attempts: 0 }, PATH).attempts, 0);
  });
});

describe('backoffMs', () => {
  const p = on(['5xx']);

  it('is fully jittered exponential from 25 ms: retry N in [0, (2^N - 1) × 25)', () => {
    assert.equal(p.backoffMs(1, 0), 0);
    assert.equal(p.backoffMs(1, 0.999999), 24);
    assert.equal(p.backoffMs(2, 0.999999), 74);
    assert.equal(p.backoffMs(3, 0.999999), 174);
    assert.equal(p.backoffMs(3, 0.5), 87);
  });

  it('is capped at 250 ms', () => {
    assert.equal(p.backoffMs(4, 0.999999), 250);
    assert.equal(p.backoffMs(100, 0.999999), 250);
    assert.equal(p.backoffMs(100, 1), 250);
  });
});

describe('RetryBudget', () => {
  it('allows at least minRetryConcurrency retries', () => {
    const b = new RetryBudget();
    assert.equal(b.tryStart(0), true);
    assert.equal(b.tryStart(0), true);
    assert.equal(b.tryStart(0), true);
    assert.equal(b.tryStart(0), false);
    b.end();
    assert.equal(b.tryStart(0), true);
  });

  it('allows budgetPercent of the requests in flight', () => {
    const b = new RetryBudget(20, 3);
    let admitted = 0;
    while (b.tryStart(100)) admitted++;
    assert.equal(admitted, 20);
    assert.equal(b.activeRetries, 20);
    assert.equal(b.tryStart(105), true, 'more traffic, more budget');
    b.end();
    b.end();
    assert.equal(b.activeRetries, 19);
  });

  it('never goes below zero', () => {
    const b = new RetryBudget(0, 1);
    b.end();
    assert.equal(b.tryStart(1000), true);
    assert.equal(b.tryStart(1000), false);
  });
});
