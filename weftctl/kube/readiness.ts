import type { V1CustomResourceDefinition, V1Deployment } from '@kubernetes/client-node';
import type { Mesh } from '../../crds/generated/types/mesh.js';

/** How far a Deployment has rolled out, as kubectl rollout status judges it. */
export interface DeploymentReadiness {
  readonly available: boolean;
  readonly ready: number;
  readonly replicas: number;
}

/**
 * Available when the Deployment controller has seen the latest spec, every replica is updated and
 * ready, and the Available condition is True. Pure.
 */
export function deploymentReadiness(d: V1Deployment): DeploymentReadiness {
  const replicas = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  const ready = status.readyReplicas ?? 0;
  const seen = (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const availableCondition = !!status.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
  const updated = (status.updatedReplicas ?? 0) >= replicas;
  return { available: seen && availableCondition && updated && ready >= replicas, ready, replicas };
}

/** Established and NamesAccepted: the API server serves the CRD's kind. Pure. */
export function crdEstablished(crd: V1CustomResourceDefinition | undefined): boolean {
  const isTrue = (type: string): boolean =>
    !!crd?.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  return isTrue('Established') && isTrue('NamesAccepted');
}

export interface MeshReadiness {
  readonly ready: boolean;
  /** `Ready=True`, or why not: `Ready=False (ControlPlaneUnavailable): control plane: 0 of 1 ready`. */
  readonly summary: string;
}

/**
 * Ready when the Ready condition is True for the Mesh's current generation: a True condition written
 * for an older spec says nothing about the one the user just applied. Pure.
 */
export function meshReadiness(mesh: Mesh): MeshReadiness {
  const ready = mesh.status?.conditions?.find((c) => c.type === 'Ready');
  const generation = mesh.metadata?.generation;
  const observed = mesh.status?.observedGeneration;
  if (!ready) return { ready: false, summary: 'no Ready condition yet: has the operator seen it?' };
  if (observed !== generation)
    return {
      ready: false,
      summary: `status is for generation ${observed ?? '(none)'}, the spec is generation ${generation}: the operator has not reconciled the latest spec`,
    };
  const summary =
    ready.status === 'True' ? 'Ready=True' : `Ready=${ready.status} (${ready.reason}): ${ready.message}`;
  return { ready: ready.status === 'True', summary };
}
