/** Space between columns, as kubectl and istioctl print theirs. */
const GAP = '   ';

/**
 * A plain-text table: a header row and left-aligned columns as wide as their widest cell; no trailing
 * spaces, so the output greps and diffs cleanly. Pure.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    headers
      .map((_, i) => (cells[i] ?? '').padEnd(widths[i]!))
      .join(GAP)
      .trimEnd();
  return [headers, ...rows].map(line).join('\n') + '\n';
}
