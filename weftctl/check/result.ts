/** One check's verdict, as linkerd check reports it: passed, a warning (does not fail), or failed. */
export type CheckResult = 'success' | 'warning' | 'error';

export interface Check {
  /** What holds when the check passes, with what was seen: "Mesh default is Ready (generation 2)". */
  readonly description: string;
  readonly result: CheckResult;
  /** What is wrong, for a warning or an error. */
  readonly error?: string;
  /** What to do about it, for a warning or an error. */
  readonly hint?: string;
}

export interface Category {
  readonly categoryName: string;
  readonly checks: readonly Check[];
}

export const pass = (description: string): Check => ({ description, result: 'success' });
export const warn = (description: string, error: string, hint: string): Check => ({
  description,
  result: 'warning',
  error,
  hint,
});
export const fail = (description: string, error: string, hint: string): Check => ({
  description,
  result: 'error',
  error,
  hint,
});

/** Whether any check failed; warnings do not count. Pure. */
export const anyFailed = (categories: readonly Category[]): boolean =>
  categories.some((c) => c.checks.some((k) => k.result === 'error'));
