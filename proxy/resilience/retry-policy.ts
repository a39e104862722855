import { ConfigError } from '../config/config-error.js';
import type { RetryPolicy } from '../config/generated/proxy-config.js';

/**
 * How one attempt ended: a response (with its gRPC status when the response headers carry one),
 * or no response. `timeout` is the per-try timeout firing; the route's overall timeout ends the
 * request and is never retried.
 */
export type AttemptOutcome =
  | { status: number; grpcStatus?: number }
  | { error: 'connect-failure' | 'reset' | 'refused-stream' | 'timeout' };

export interface CompiledRetryPolicy {
  /** Retries allowed after the first attempt (Istio's `attempts` counts retries, as Envoy's num_retries). */
  readonly attempts: number;
  readonly perTryTimeoutMs: number | undefined;
  /** Whether the outcome is retriable under retryOn; the caller also checks attempts and budgets. */
  shouldRetry(o: AttemptOutcome): boolean;
  /** Delay before retry number `retryNumber` (1 for the first retry); `random01` in [0, 1). */
  backoffMs(retryNumber: number, random01: number): number;
}

/** Istio's route default: what a VirtualService route without `retries` gets. */
const ISTIO_DEFAULT_RETRY_ON = [
  'connect-failure',
  'refused-stream',
  'unavailable',
  'cancelled',
  'retriable-status-codes',
];
const ISTIO_DEFAULT_ATTEMPTS = 2;
/** Istio's default retriable_status_codes. */
const ISTIO_DEFAULT_STATUS_CODES = [503];

/** Envoy's default back-off: base 25 ms, capped at ten times that. */
const BASE_BACKOFF_MS = 25;
const MAX_BACKOFF_MS = 250;

/** Envoy's gRPC retry policies and the status each matches. A Map: no inherited keys to match. */
const GRPC_CODES: ReadonlyMap<string, number> = new Map([
  ['cancelled', 1],
  ['deadline-exceeded', 4],
  ['resource-exhausted', 8],
  ['internal', 13],
  ['unavailable', 14],
]);

/** Policies that depend on headers and settings Weft never produces; accepted, never matching. */
const INERT = new Set(['envoy-ratelimited', 'retriable-headers']);

interface RetryFlags {
  /** 5xx or gateway-error: Envoy also retries every reset and connect failure under these. */
  anyFailure: boolean;
  reset: boolean;
  connectFailure: boolean;
  refusedStream: boolean;
  statusCodesPolicy: boolean;
  /** Indexed by HTTP status; 1 = retriable. */
  statuses: Uint8Array;
  codes: number[];
  /** Bit n set = gRPC status n is retriable. */
  grpcMask: number;
}

/**
 * Compiles a route's retry policy. Absent: Istio's default policy. `path` is the JSON path of the
 * policy, for the ConfigError an unknown retryOn item raises.
 */
export function compileRetryPolicy(p: RetryPolicy | undefined, path: string): CompiledRetryPolicy {
  const attempts = p ? p.attempts : ISTIO_DEFAULT_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 0) {
    throw new ConfigError(`${path}.attempts`, `must be a non-negative integer, not ${attempts}`);
  }
  const perTry = p?.perTryTimeoutMs;
  if (perTry !== undefined && (!Number.isFinite(perTry) || perTry < 0)) {
    throw new ConfigError(`${path}.perTryTimeoutMs`, `must be a non-negative number, not ${perTry}`);
  }
  const flags = parseRetryOn(p?.retryOn ?? ISTIO_DEFAULT_RETRY_ON, path);
  return new Compiled(attempts, perTry ? perTry : undefined, flags);
}

function parseRetryOn(items: readonly string[], path: string): RetryFlags {
  const f: RetryFlags = {
    anyFailure: false,
    reset: false,
    connectFailure: false,
    refusedStream: false,
    statusCodesPolicy: false,
    statuses: new Uint8Array(600),
    codes: [],
    grpcMask: 0,
  };
  items.forEach((raw, i) => {
    if (!applyItem(f, raw.trim())) {
      throw new ConfigError(`${path}.retryOn[${i}]`, `"${raw}" is not a retry condition`);
    }
  });
  // Istio: HTTP status codes listed in retryOn switch on retriable-status-codes by themselves.
  if (f.codes.length > 0) f.statusCodesPolicy = true;
  // retriable-status-codes with no code listed: Istio's default list (503). The control plane
  // emits Istio's default retryOn without the 503 Istio puts beside it, so this restores it.
  const codes = f.codes.length > 0 ? f.codes : ISTIO_DEFAULT_STATUS_CODES;
  if (f.statusCodesPolicy) for (const c of codes) f.statuses[c] = 1;
  return f;
}

/** Sets the item's flags; false when the item is unknown. */
function applyItem(f: RetryFlags, item: string): boolean {
  // Istio skips empty items ("5xx,,reset").
  if (item === '') return true;
  const grpc = GRPC_CODES.get(item);
  if (grpc !== undefined) {
    f.grpcMask |= 1 << grpc;
    return true;
  }
  if (/^[1-5][0-9][0-9]$/.test(item)) {
    f.codes.push(Number(item));
    return true;
  }
  switch (item) {
    case '5xx':
      f.anyFailure = true;
      f.statuses.fill(1, 500, 600);
      return true;
    case 'gateway-error':
      f.anyFailure = true;
      f.statuses.fill(1, 502, 505);
      return true;
    case 'retriable-4xx':
      f.statuses[409] = 1;
      return true;
    case 'reset':
      f.reset = true;
      return true;
    case 'connect-failure':
      f.connectFailure = true;
      return true;
    case 'refused-stream':
      f.refusedStream = true;
      return true;
    case 'retriable-status-codes':
      f.statusCodesPolicy = true;
      return true;
    default:
      return INERT.has(item);
  }
}

class Compiled implements CompiledRetryPolicy {
  private readonly statuses: Uint8Array;
  private readonly grpcMask: number;
  private readonly onConnectFailure: boolean;
  private readonly onReset: boolean;
  private readonly onRefusedStream: boolean;
  private readonly onTimeout: boolean;

  constructor(
    readonly attempts: number,
    readonly perTryTimeoutMs: number | undefined,
    f: RetryFlags,
  ) {
    this.statuses = f.statuses;
    this.grpcMask = f.grpcMask;
    // Envoy (RetryStateImpl::wouldRetryFromReset): `reset`, `5xx` and `gateway-error` retry every
    // reset, connect failures and refused streams included; the narrower items only their own.
    const anyReset = f.anyFailure || f.reset;
    this.onReset = anyReset;
    this.onConnectFailure = anyReset || f.connectFailure;
    this.onRefusedStream = anyReset || f.refusedStream;
    // A per-try timeout resets the attempt (Envoy answers it as a 504), so the same items retry it.
    this.onTimeout = perTryTimeoutMs !== undefined && anyReset;
  }

  shouldRetry(o: AttemptOutcome): boolean {
    if ('status' in o) {
      const g = o.grpcStatus;
      if (g !== undefined && g >= 0 && g < 31 && (this.grpcMask & (1 << g)) !== 0) return true;
      return o.status >= 0 && o.status < 600 && this.statuses[o.status] === 1;
    }
    switch (o.error) {
      case 'connect-failure':
        return this.onConnectFailure;
      case 'refused-stream':
        return this.onRefusedStream;
      case 'reset':
        return this.onReset;
      case 'timeout':
        return this.onTimeout;
      default:
        return false;
    }
  }

  backoffMs(retryNumber: number, random01: number): number {
    return jitteredBackoffMs(retryNumber, random01);
  }
}

/**
 * Envoy's fully jittered exponential back-off: retry N waits a uniform time in
 * [0, (2^N - 1) × 25 ms), at most 250 ms.
 */
function jitteredBackoffMs(retryNumber: number, random01: number): number {
  // Exponent capped: past a few retries the 250 ms cap decides anyway, and 2^N must stay finite.
  const n = Math.min(30, Math.max(1, Math.floor(retryNumber)));
  const r = Number.isFinite(random01) ? Math.min(Math.max(random01, 0), 1 - Number.EPSILON) : 0;
  return Math.min(Math.floor(r * (2 ** n - 1) * BASE_BACKOFF_MS), MAX_BACKOFF_MS);
}

/**
 * Envoy's retry budget: retries in flight may reach `budgetPercent` of the requests in flight, and
 * never fewer than `minRetryConcurrency`. Keeps a degraded cluster from being hit by a retry storm
 * that a fixed maxRetries sized for normal load would allow.
 */
export class RetryBudget {
  private active = 0;

  constructor(
    readonly budgetPercent = 20,
    readonly minRetryConcurrency = 3,
  ) {}

  /** Retries in flight. */
  get activeRetries(): number {
    return this.active;
  }

  /** `activeRequests`: the cluster's requests in flight and pending, as Envoy counts them. */
  tryStart(activeRequests: number): boolean {
    const allowed = Math.max(
      Math.floor((this.budgetPercent / 100) * activeRequests),
      this.minRetryConcurrency,
    );
    if (this.active >= allowed) return false;
    this.active++;
    return true;
  }

  end(): void {
    if (this.active > 0) this.active--;
  }
}
