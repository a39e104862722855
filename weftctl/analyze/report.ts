import type { Analysis, Finding } from './analyze.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `Error [VirtualService shop/reviews] spec.http[0].timeout: <what to do> (vs.yaml, document 1)`. Pure. */
export function formatFinding(f: Finding): string {
  return `${f.severity} [${f.resource}] ${f.field}: ${f.message} (${f.source})`;
}

/** Every finding, errors first, then a one-line summary. Pure. */
export function formatAnalysis(analysis: Analysis): string {
  const errors = analysis.findings.filter((f) => f.severity === 'Error');
  const warnings = analysis.findings.filter((f) => f.severity === 'Warning');
  const skipped = analysis.skipped > 0 ? ` (${plural(analysis.skipped, 'other object')} skipped)` : '';
  const checked = `${plural(analysis.checked, 'Weft resource')}${skipped}`;
  const summary =
    analysis.findings.length === 0
      ? `No problems found in ${checked}.`
      : `${plural(errors.length, 'error')} and ${plural(warnings.length, 'warning')} in ${checked}.`;
  return [...errors, ...warnings].map(formatFinding).concat(summary).join('\n') + '\n';
}
