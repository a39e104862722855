import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker, UNLIMITED } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  it('refuses requests past maxRequests and admits again after one ends', () => {
    const cb = new CircuitBreaker({ maxRequests: 2 });
    assert.equal(cb.tryStartRequest(), true);
    assert.equal(cb.tryStartRequest(), true);
    assert.equal(cb.tryStartRequest(), false);
    assert.equal(cb.activeRequests, 2);
    cb.endRequest();
    assert.equal(cb.tryStartRequest(), true);
    assert.equal(cb.snapshot().requestOverflows, 1);
  });

  it('limits pending requests, retries and connections independently', () => {
    const cb = new CircuitBreaker({ maxPendingRequests: 1, maxRetries: 1, maxConnections: 1 });
    assert.equal(cb.tryStartPending(), true);
    assert.equal(cb.tryStartPending(), false);
    assert.equal(cb.tryStartRetry(), true);
    assert.equal(cb.tryStartRetry(), false);
    assert.equal(cb.tryStartConnection(), true);
    assert.equal(cb.tryStartConnection(), false);
    assert.equal(cb.tryStartRequest(), true);
    cb.endPending();
    cb.endRetry();
    cb.endConnection();
    assert.deepEqual(cb.snapshot(), {
      connections: 0,
      pendingRequests: 0,
      requests: 1,
      retries: 0,
      maxConnections: 1,
      maxPendingRequests: 1,
      maxRequests: UNLIMITED,
      maxRetries: 1,
      connectionOverflows: 1,
      pendingOverflows: 1,
      requestOverflows: 0,
      retryOverflows: 1,
    });
  });

  it('is unlimited (2^32 - 1) without limits or with 0, as Istio', () => {
    for (const cb of [new CircuitBreaker(), new CircuitBreaker({ maxRequests: 0, maxRetries: 0 })]) {
      const s = cb.snapshot();
      assert.equal(s.maxRequests, 2 ** 32 - 1);
      assert.equal(s.maxPendingRequests, 2 ** 32 - 1);
      assert.equal(s.maxRetries, 2 ** 32 - 1);
      assert.equal(s.maxConnections, 2 ** 32 - 1);
      for (let i = 0; i < 1000; i++) assert.equal(cb.tryStartRetry(), true);
    }
  });

  it('does not let an unmatched end open room beyond the limit', () => {
    const cb = new CircuitBreaker({ maxRequests: 1 });
    cb.endRequest();
    assert.equal(cb.activeRequests, 0);
    assert.equal(cb.tryStartRequest(), true);
    assert.equal(cb.tryStartRequest(), false);
  });
});
