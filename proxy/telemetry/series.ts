import type { MetricObjectWithValues, MetricType, MetricValueWithName, Registry } from 'prom-client';
import { Counter, Histogram } from './prom-client.js';

/**
 * Pre-aggregated Prometheus series for the request hot path, exposed through prom-client's registry.
 *
 * prom-client's own `inc`/`observe` validate and hash the whole label object on every call (19
 * labels in Istio's schema: about 2 µs per call, four calls per request). Like Envoy's stats, these
 * series are found once per label combination and then updated with plain number writes; the labels
 * are only formatted when Prometheus scrapes. The families subclass prom-client's Counter and
 * Histogram and override only `get` (the method the registry reads), so exposition, registration,
 * name validation and the text format stay prom-client's.
 */

type Labels = Readonly<Record<string, string>>;
type Sample = MetricValueWithName<string>;

/** One label combination of a counter. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}

  inc(amount = 1): void {
    this.value += amount;
  }
}

/** One label combination of a histogram: per-bucket (not yet cumulative) counts, sum and count. */
export class HistogramSeries {
  /** counts[i] observations fell in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    // Linear: 19 bounds, and most observations (small latencies and bodies) stop in the first few.
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export interface FamilyOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly registry: Registry;
}

/** A counter whose series are created by the caller and updated without prom-client's per-call work. */
export class CounterFamily extends Counter<string> {
  private readonly series: CounterSeries[] = [];

  constructor(options: FamilyOptions) {
    super({
      name: options.name,
      help: options.help,
      labelNames: [...options.labelNames],
      registers: [options.registry],
    });
  }

  /** A new series for `labels` (the caller keeps it and guarantees one per combination). */
  add(labels: Labels): CounterSeries {
    const s = new CounterSeries(labels);
    this.series.push(s);
    return s;
  }

  override async get(): Promise<MetricObjectWithValues<Sample>> {
    const base = await super.get();
    const values: Sample[] = this.series.map((s) => ({ labels: { ...s.labels }, value: s.value }));
    return { ...base, values };
  }
}

/** A histogram whose series are created by the caller; see CounterFamily. */
export class HistogramFamily extends Histogram<string> {
  private readonly series: HistogramSeries[] = [];
  private readonly bounds: readonly number[];
  private readonly metricName: string;
  private readonly helpText: string;

  constructor(options: FamilyOptions & { readonly buckets: readonly number[] }) {
    super({
      name: options.name,
      help: options.help,
      labelNames: [...options.labelNames],
      buckets: [...options.buckets],
      registers: [options.registry],
    });
    this.bounds = [...options.buckets];
    this.metricName = options.name;
    this.helpText = options.help;
  }

  add(labels: Labels): HistogramSeries {
    const s = new HistogramSeries(labels, this.bounds);
    this.series.push(s);
    return s;
  }

  // prom-client's Histogram.get calls getForPromString, which the registry also calls directly for
  // the text format; both are replaced, and neither calls the base class's.
  override get(): Promise<MetricObjectWithValues<Sample>> {
    return Promise.resolve({
      name: this.metricName,
      help: this.helpText,
      // prom-client's typings declare a numeric enum that its JavaScript never exports; the
      // registry prints this field as the exposition's TYPE, so it must be the string.
      type: 'histogram' as unknown as MetricType,
      aggregator: 'sum',
      collect: () => undefined,
      values: this.samples(),
    });
  }

  /** The text exposition's source (untyped in prom-client); the same samples as `get`. */
  getForPromString(): Promise<MetricObjectWithValues<Sample>> {
    return this.get();
  }

  private samples(): Sample[] {
    const name = this.metricName;
    const bucket = `${name}_bucket`;
    const out: Sample[] = [];
    for (const s of this.series) {
      // A series only ever given invalid amounts has nothing to report, as with prom-client.
      if (s.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        out.push({ labels: { ...s.labels, le: this.bounds[i]! }, value: cumulative, metricName: bucket });
      }
      out.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: bucket });
      out.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
      out.push({ labels: { ...s.labels }, value: s.count, metricName: `${name}_count` });
    }
    return out;
  }
}
