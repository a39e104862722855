import { crdsUnreadable, foreignOwner, kubernetesApi } from './evaluate-cluster.js';
import type { AccessFact, PreFacts } from './facts.js';
import { fail, pass, warn, type Category, type Check } from './result.js';

const accessName = (a: AccessFact): string =>
  `${a.verb} ${a.resource}${a.namespace ? ` in namespace ${a.namespace}` : ''}`;

/** May the user create what an install creates? One check per SelfSubjectAccessReview. Pure. */
export function permissions(access: readonly AccessFact[]): Category {
  const checks = access.map((a): Check => {
    const description = `can ${accessName(a)}`;
    if (a.allowed) return pass(description);
    return fail(
      description,
      `not allowed${a.reason ? ` (${a.reason})` : ''}`,
      `Installing Weft creates CRDs, a ClusterRole and its binding: run it with a kubeconfig that may (cluster-admin does); kubectl auth can-i ${a.verb} ${a.resource.split('/').reverse().join('.')} shows what you may do.`,
    );
  });
  return { categoryName: 'pre-install-permissions', checks };
}

/** No CRD of another owner in the way; Weft's own already there is a warning (install updates it). Pure. */
export function crdConflicts(facts: PreFacts): Category {
  const categoryName = 'pre-install-crds';
  if (!facts.crds.ok) return { categoryName, checks: [crdsUnreadable(facts.crds)] };
  const present = facts.crds.value.filter((c) => c.present);
  const description = 'no CRD of another owner is in the way';
  const foreign = present
    .map((c) => foreignOwner(c.name, c.labels))
    .filter((r): r is string => r !== undefined);
  if (foreign.length > 0)
    return {
      categoryName,
      checks: [
        fail(
          description,
          foreign.join('; '),
          "A Weft installed through OLM is upgraded and removed with OLM, not weftctl. Otherwise save the other project's resources and delete its CRD (kubectl delete crd <name>) before installing.",
        ),
      ],
    };
  if (present.length > 0)
    return {
      categoryName,
      checks: [
        warn(
          description,
          `Weft is already installed: ${present.length} Weft CRDs exist`,
          'weftctl install updates them in place; run weftctl check (without --pre) to check the installation.',
        ),
      ],
    };
  return { categoryName, checks: [pass(`${description} (no Weft CRDs yet)`)] };
}

/** `weftctl check --pre`: every category, or only the API's when it cannot be reached. Pure. */
export function evaluatePre(facts: PreFacts): Category[] {
  const api = kubernetesApi(facts);
  if (!facts.kubernetes.ok) return [api];
  return [api, permissions(facts.access), crdConflicts(facts)];
}
