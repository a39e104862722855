import type { ConnectionPoolLimits } from '../config/generated/proxy-config.js';

/** Istio's "unlimited": it sets every Envoy threshold it is not given to 2^32 - 1. */
export const UNLIMITED = 2 ** 32 - 1;

export interface CircuitBreakerSnapshot {
  readonly connections: number;
  readonly pendingRequests: number;
  readonly requests: number;
  readonly retries: number;
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** Times a limit refused (Envoy's upstream_cx_overflow, upstream_rq_pending_overflow, ...). */
  readonly connectionOverflows: number;
  readonly pendingOverflows: number;
  readonly requestOverflows: number;
  readonly retryOverflows: number;
}

/** One resource: a count in use and its limit. */
class Gauge {
  inUse = 0;
  overflows = 0;

  constructor(readonly max: number) {}

  tryStart(): boolean {
    if (this.inUse >= this.max) {
      this.overflows++;
      return false;
    }
    this.inUse++;
    return true;
  }

  end(): void {
    // Clamped: an unmatched end must not open room beyond the limit.
    if (this.inUse > 0) this.inUse--;
  }
}

/**
 * Envoy's per-cluster circuit breakers (default priority) from a DestinationRule's connectionPool:
 * concurrent connections, queued requests, requests in flight and retries in flight, shared by all
 * hosts of the cluster. A refused `tryStart*` means: answer 503 with response flag `UO` (upstream
 * overflow) and do not call the matching `end*`.
 */
export class CircuitBreaker {
  private readonly connections: Gauge;
  private readonly pending: Gauge;
  private readonly requests: Gauge;
  private readonly retries: Gauge;

  constructor(limits?: ConnectionPoolLimits) {
    this.connections = new Gauge(limit(limits?.maxConnections));
    this.pending = new Gauge(limit(limits?.maxPendingRequests));
    this.requests = new Gauge(limit(limits?.maxRequests));
    this.retries = new Gauge(limit(limits?.maxRetries));
  }

  /** maxConnections (Istio tcp.maxConnections). */
  tryStartConnection(): boolean {
    return this.connections.tryStart();
  }
  endConnection(): void {
    this.connections.end();
  }

  /** maxPendingRequests (Istio http.http1MaxPendingRequests): requests waiting for a connection. */
  tryStartPending(): boolean {
    return this.pending.tryStart();
  }
  endPending(): void {
    this.pending.end();
  }

  /** maxRequests (Istio http.http2MaxRequests): requests in flight to the cluster. */
  tryStartRequest(): boolean {
    return this.requests.tryStart();
  }
  endRequest(): void {
    this.requests.end();
  }

  /** maxRetries (Istio http.maxRetries): retries in flight to the cluster, not per request. */
  tryStartRetry(): boolean {
    return this.retries.tryStart();
  }
  endRetry(): void {
    this.retries.end();
  }

  get activeConnections(): number {
    return this.connections.inUse;
  }
  get pendingRequests(): number {
    return this.pending.inUse;
  }
  get activeRequests(): number {
    return this.requests.inUse;
  }
  get activeRetries(): number {
    return this.retries.inUse;
  }

  /** Counts and limits for metrics and the admin endpoint. */
  snapshot(): CircuitBreakerSnapshot {
    return {
      connections: this.connections.inUse,
      pendingRequests: this.pending.inUse,
      requests: this.requests.inUse,
      retries: this.retries.inUse,
      maxConnections: this.connections.max,
      maxPendingRequests: this.pending.max,
      maxRequests: this.requests.max,
      maxRetries: this.retries.max,
      connectionOverflows: this.connections.overflows,
      pendingOverflows: this.pending.overflows,
      requestOverflows: this.requests.overflows,
      retryOverflows: this.retries.overflows,
    };
  }
}

/** Istio passes a limit on only when it is positive; 0 or absent is unlimited. */
function limit(v: number | undefined): number {
  return v === undefined || !Number.isFinite(v) || v <= 0 ? UNLIMITED : Math.floor(v);
}
