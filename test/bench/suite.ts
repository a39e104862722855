export interface BenchOptions {
  /** Keep the suite under two minutes. */
  readonly quick: boolean;
}

export interface SuiteResult {
  readonly suite: string;
  readonly notes: readonly string[];
  readonly metrics: Readonly<Record<string, number>>;
}
