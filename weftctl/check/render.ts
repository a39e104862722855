import type { Category, CheckResult } from './result.js';

const SYMBOL: Record<CheckResult, string> = { success: '✔', warning: '‼', error: '×' };

const count = (categories: readonly Category[], result: CheckResult): number =>
  categories.reduce((n, c) => n + c.checks.filter((k) => k.result === result).length, 0);

/**
 * The checks as linkerd check prints them: a heading per category, a line per check, and under a
 * warning or failure what is wrong and a hint line saying what to do; then the verdict. Pure.
 */
export function formatChecks(categories: readonly Category[]): string {
  const sections = categories.map((c) => {
    const lines = c.checks.flatMap((k) => [
      `${SYMBOL[k.result]} ${k.description}`,
      ...(k.error ? [`    ${k.error}`] : []),
      ...(k.hint ? [`    hint: ${k.hint}`] : []),
    ]);
    return [c.categoryName, '-'.repeat(c.categoryName.length), ...lines].join('\n');
  });
  const errors = count(categories, 'error');
  const warnings = count(categories, 'warning');
  const tally = `${errors} failed, ${warnings} warning${warnings === 1 ? '' : 's'}, ${count(categories, 'success')} passed`;
  const verdict =
    errors > 0 ? `Status check results are × (${tally})` : `Status check results are ✔ (${tally})`;
  return `${sections.join('\n\n')}\n\n${verdict}\n`;
}

/** linkerd check's JSON shape: `{ success, categories: [{ categoryName, checks: [...] }] }`. Pure. */
export function checksJson(categories: readonly Category[]): string {
  const success = count(categories, 'error') === 0;
  return `${JSON.stringify({ success, categories }, null, 2)}\n`;
}
