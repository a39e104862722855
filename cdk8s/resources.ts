import { k8s } from 'cdk8s-plus-28';
import type { ResourceRequirements } from '../crds/generated/types/mesh.js';

type ResourceList = Record<string, string | number>;

/**
 * A container `resources` value from the Mesh spec, in the form the cdk8s Kubernetes imports
 * serialise: their toJson reads each quantity's `.value`, even from a JSON patch.
 */
export function containerResources(resources: ResourceRequirements): object {
  const toQuantities = (list: ResourceList | undefined): Record<string, k8s.Quantity> | undefined =>
    list &&
    Object.fromEntries(
      Object.entries(list).map(([name, value]) => [name, k8s.Quantity.fromString(String(value))]),
    );
  return {
    ...(resources.requests ? { requests: toQuantities(resources.requests) } : {}),
    ...(resources.limits ? { limits: toQuantities(resources.limits) } : {}),
  };
}
