import type { LabelSelector } from '../crds/generated/types/mesh.js';
import { DEFAULT_REVISION, labelKeys } from './names.js';

/**
 * The namespace selectors that pick namespaces for sidecar injection: the Mesh's own
 * (`weft.dev/inject=enabled` by default), or the revision label `weft.dev/rev=<revision>` on a
 * namespace that has no `weft.dev/inject` label. A label selector cannot say "or", so each is its
 * own selector (and its own webhook); `weft.dev/inject=disabled` beside a revision label opts the
 * namespace out, as `istio-injection=disabled` does in Istio. Pure.
 */
export function injectionNamespaceSelectors(
  meshSelector: LabelSelector,
  revision: string = DEFAULT_REVISION,
): LabelSelector[] {
  return [
    meshSelector,
    {
      matchExpressions: [
        { key: labelKeys.revision, operator: 'In', values: [revision] },
        { key: labelKeys.inject, operator: 'DoesNotExist' },
      ],
    },
  ];
}
