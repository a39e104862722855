import type { OutlierDetectionPolicy } from '../config/generated/proxy-config.js';
import type { UpstreamHost } from './host.js';

/**
 * What one request attempt to a host came to, as outlier detection sees it. `gateway-error` is a
 * 502, 503 or 504 from the host; `http-5xx` any other 5xx; `connect-failure` a failed or timed-out
 * connection, which Envoy (without split_external_local_origin_errors, Istio's setting) counts as a
 * 503. Anything else (2xx-4xx) is a `success`.
 */
export type OutlierOutcome = 'success' | 'http-5xx' | 'gateway-error' | 'connect-failure';

/** Istio's defaults for fields a DestinationRule's outlierDetection leaves out. */
const DEFAULT_CONSECUTIVE_5XX = 5;
const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_BASE_EJECTION_MS = 30_000;
const DEFAULT_MAX_EJECTION_PERCENT = 10;
/** Envoy's default max_ejection_time (Istio does not expose it). */
const DEFAULT_MAX_EJECTION_MS = 300_000;

interface HostRecord {
  consecutive5xx: number;
  consecutiveGateway: number;
  ejected: boolean;
  ejectedUntil: number;
  /** The ejection-time multiplier (Envoy's ejectTimeBackoff). */
  backoff: number;
  /** When the last ejection ended; undefined if never ejected. */
  unejectedAt: number | undefined;
}

/**
 * Envoy's consecutive-5xx and consecutive-gateway-failure outlier detection, per cluster, with
 * Istio's defaults. Un-ejection is lazy (checked on read) rather than on Envoy's interval sweep, so a
 * host returns exactly when its ejection time is up instead of at the next sweep after it.
 */
export class OutlierDetector {
  /** False when the cluster has no outlierDetection: `record` is then a no-op. */
  readonly enabled: boolean;
  private readonly consecutive5xxLimit: number;
  private readonly consecutiveGatewayLimit: number;
  private readonly intervalMs: number;
  private readonly baseEjectionMs: number;
  private readonly maxEjectionMs: number;
  private readonly maxEjectionPercent: number;
  private readonly hosts = new Map<string, HostRecord>();
  private readonly ejected = new Set<HostRecord>();

  constructor(
    policy: OutlierDetectionPolicy | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.enabled = policy !== undefined;
    // Istio: an explicit 0 disables the detector; consecutiveGatewayErrors unset is not enforced
    // (Istio leaves Envoy's enforcing_consecutive_gateway_failure at its default, 0).
    this.consecutive5xxLimit = nonNegative(policy?.consecutive5xxErrors, DEFAULT_CONSECUTIVE_5XX);
    this.consecutiveGatewayLimit = nonNegative(policy?.consecutiveGatewayErrors, 0);
    // Istio only passes these on when positive, so 0 means the default.
    this.intervalMs = positive(policy?.intervalMs, DEFAULT_INTERVAL_MS);
    this.baseEjectionMs = positive(policy?.baseEjectionTimeMs, DEFAULT_BASE_EJECTION_MS);
    this.maxEjectionPercent = Math.min(
      100,
      positive(policy?.maxEjectionPercent, DEFAULT_MAX_EJECTION_PERCENT),
    );
    // Envoy: max_ejection_time defaults to 300 s or base_ejection_time, whichever is larger.
    this.maxEjectionMs = Math.max(DEFAULT_MAX_EJECTION_MS, this.baseEjectionMs);
  }

  /**
   * Counts one attempt's outcome against the host; `hostCount` is the cluster's current number of
   * hosts, the base of maxEjectionPercent. Returns true when this call ejected the host.
   */
  record(host: UpstreamHost, outcome: OutlierOutcome, hostCount: number): boolean {
    if (!this.enabled) return false;
    const r = this.recordOf(host.key);
    const now = this.now();
    this.expire(r, now);
    // Replies still arriving from an ejected host change nothing: its counters restart when it
    // returns, as in Envoy.
    if (r.ejected) return false;
    if (outcome === 'success') {
      r.consecutive5xx = 0;
      r.consecutiveGateway = 0;
      return false;
    }
    r.consecutive5xx++;
    // A 5xx that is not a gateway error breaks the run of gateway errors (Envoy).
    r.consecutiveGateway = outcome === 'http-5xx' ? 0 : r.consecutiveGateway + 1;
    let detected = false;
    if (this.consecutiveGatewayLimit > 0 && r.consecutiveGateway >= this.consecutiveGatewayLimit) {
      r.consecutiveGateway = 0;
      detected = true;
    }
    if (this.consecutive5xxLimit > 0 && r.consecutive5xx >= this.consecutive5xxLimit) {
      r.consecutive5xx = 0;
      detected = true;
    }
    // The counter that fired restarts even when the ejection is refused (Envoy): a host over the
    // max-percent cap needs another full run of errors before it is considered again.
    return detected && this.tryEject(r, now, hostCount);
  }

  isEjected(host: UpstreamHost): boolean {
    const r = this.hosts.get(host.key);
    if (!r?.ejected) return false;
    this.expire(r, this.now());
    return r.ejected;
  }

  /** Hosts ejected right now. */
  ejectedCount(): number {
    const now = this.now();
    for (const r of this.ejected) this.expire(r, now);
    return this.ejected.size;
  }

  /** Drops the state of a host that left the cluster, so it no longer counts as ejected. */
  forget(hostKey: string): void {
    const r = this.hosts.get(hostKey);
    if (!r) return;
    this.ejected.delete(r);
    this.hosts.delete(hostKey);
  }

  private recordOf(key: string): HostRecord {
    let r = this.hosts.get(key);
    if (!r) {
      r = {
        consecutive5xx: 0,
        consecutiveGateway: 0,
        ejected: false,
        ejectedUntil: 0,
        backoff: 0,
        unejectedAt: undefined,
      };
      this.hosts.set(key, r);
    }
    return r;
  }

  private expire(r: HostRecord, now: number): void {
    if (!r.ejected || now < r.ejectedUntil) return;
    r.ejected = false;
    r.unejectedAt = r.ejectedUntil;
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    this.ejected.delete(r);
  }

  private tryEject(r: HostRecord, now: number, hostCount: number): boolean {
    for (const other of this.ejected) this.expire(other, now);
    // Envoy's rule (outlier_detection_impl.cc, ejectHost): eject only if the ejected share,
    // counting this host, stays within max_ejection_percent:
    //   100 × (ejected + 1) / hosts ≤ max_ejection_percent.
    // Envoy ejects at least one host regardless only with always_eject_one_host, which Istio does
    // not set; so with the default 10 % a cluster of fewer than 10 hosts ejects nothing. (Envoy's
    // older docs said the first host was always ejected; the code no longer does that.)
    if (hostCount <= 0 || (100 * (this.ejected.size + 1)) / hostCount > this.maxEjectionPercent) return false;
    this.decayBackoff(r, now);
    // Envoy stops growing the multiplier once it has passed the cap, so that a host that recovers
    // sheds it in a bounded number of intervals.
    if (r.backoff * this.baseEjectionMs < this.maxEjectionMs + this.baseEjectionMs) r.backoff++;
    r.ejected = true;
    r.ejectedUntil = now + Math.min(this.baseEjectionMs * r.backoff, this.maxEjectionMs);
    this.ejected.add(r);
    return true;
  }

  /**
   * Envoy lowers the multiplier by one at each interval sweep a returned host spends un-ejected.
   * Done here in one step, at the next ejection, from the time since the last un-ejection.
   */
  private decayBackoff(r: HostRecord, now: number): void {
    if (r.unejectedAt === undefined) return;
    const intervals = Math.floor((now - r.unejectedAt) / this.intervalMs);
    r.backoff = Math.max(0, r.backoff - intervals);
  }
}

function nonNegative(v: number | undefined, fallback: number): number {
  return v === undefined || !Number.isFinite(v) || v < 0 ? fallback : v;
}

function positive(v: number | undefined, fallback: number): number {
  return v === undefined || !Number.isFinite(v) || v <= 0 ? fallback : v;
}
