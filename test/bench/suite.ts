export interface BenchOptions {
  /** Keep the suite under two minutes. */
  readonly quick: boolean;
}

export interface SuiteResult {
  readonly suite: string;
  readonly notes: readonly string[];
  readonly metrics?: Readonly<Record<string, number>>;
  /**
   * More top-level keys of the results JSON, written right after `machine` (the proxy suite's
   * `scenarios`, in the schema the benchmarks issue fixes).
   */
  readonly data?: Readonly<Record<string, unknown>>;
  /** Markdown lines for the summary, after the notes (tables the metrics list cannot show). */
  readonly markdown?: readonly string[];
}
