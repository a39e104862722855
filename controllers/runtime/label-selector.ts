import type { LabelSelector } from '../../crds/generated/types/mesh.js';

/** Whether `labels` match a Kubernetes label selector; an empty selector matches everything. Pure. */
export function matchesSelector(
  labels: Readonly<Record<string, string>> | undefined,
  selector: LabelSelector,
): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const value = have[expr.key];
    const values = expr.values ?? [];
    const ok =
      expr.operator === 'In'
        ? value !== undefined && values.includes(value)
        : expr.operator === 'NotIn'
          ? value === undefined || !values.includes(value)
          : expr.operator === 'Exists'
            ? value !== undefined
            : value === undefined;
    if (!ok) return false;
  }
  return true;
}
