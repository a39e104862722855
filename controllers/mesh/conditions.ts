import type { Condition } from '../../crds/generated/types/mesh.js';

/** What one reconcile saw; everything the Mesh's conditions are computed from. */
export interface MeshObservation {
  readonly generation: number;
  readonly apply:
    { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly message: string };
  readonly ca:
    | { readonly ready: true; readonly reason: 'SelfSigned' | 'ExistingSecret'; readonly message: string }
    | { readonly ready: false; readonly reason: string; readonly message: string };
  readonly controlPlane: DeploymentObservation;
  readonly gateways: readonly (DeploymentObservation & { readonly name: string })[];
  readonly webhooks: { readonly ready: boolean; readonly reason: string; readonly message: string };
}

export interface DeploymentObservation {
  readonly found: boolean;
  readonly replicas: number;
  readonly readyReplicas: number;
  /** The Deployment controller has seen the latest spec and finished rolling it out. */
  readonly rolledOut: boolean;
  /**
   * The Deployment controller's message when the rollout has stopped progressing (its condition
   * Progressing=False, reason ProgressDeadlineExceeded: an image that never pulls, a crash loop, a
   * quota). Waiting longer does not help, so the Mesh says so instead of "RollingOut" forever.
   */
  readonly stalled?: string;
}

export const CONDITION_TYPES = [
  'Reconciled',
  'CertificateAuthorityReady',
  'ControlPlaneReady',
  'GatewaysReady',
  'WebhooksReady',
  'Ready',
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

type Verdict = Pick<Condition, 'status' | 'reason' | 'message'>;

function deploymentVerdict(what: string, d: DeploymentObservation): Verdict {
  if (!d.found)
    return { status: 'False', reason: 'NotFound', message: `${what} Deployment does not exist yet` };
  if (d.stalled !== undefined) {
    return {
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: `${what}: ${d.readyReplicas} of ${d.replicas} replicas ready and the rollout has stopped progressing (${d.stalled}); look at its pods' events`,
    };
  }
  if (d.replicas > 0 && d.readyReplicas === 0) {
    return { status: 'False', reason: 'Unavailable', message: `${what}: 0 of ${d.replicas} replicas ready` };
  }
  if (!d.rolledOut || d.readyReplicas < d.replicas) {
    return {
      status: 'False',
      reason: 'RollingOut',
      message: `${what}: ${d.readyReplicas} of ${d.replicas} replicas ready`,
    };
  }
  return {
    status: 'True',
    reason: 'Available',
    message: `${what}: ${d.readyReplicas} of ${d.replicas} replicas ready`,
  };
}

function gatewaysVerdict(gateways: MeshObservation['gateways']): Verdict {
  if (gateways.length === 0)
    return { status: 'True', reason: 'NoGateways', message: 'the Mesh declares no gateways' };
  const verdicts = gateways.map((g) => ({ name: g.name, ...deploymentVerdict(`gateway ${g.name}`, g) }));
  const failing = verdicts.find((v) => v.status !== 'True');
  if (failing)
    return { status: 'False', reason: failing.reason, message: verdicts.map((v) => v.message).join('; ') };
  return { status: 'True', reason: 'Available', message: verdicts.map((v) => v.message).join('; ') };
}

/** Each condition's verdict, before timestamps. Pure. */
export function conditionVerdicts(obs: MeshObservation): Record<ConditionType, Verdict> {
  const verdicts = {
    Reconciled: obs.apply.ok
      ? { status: 'True', reason: 'Applied', message: 'every child object is applied' }
      : { status: 'False', reason: obs.apply.reason, message: obs.apply.message },
    CertificateAuthorityReady: {
      status: obs.ca.ready ? 'True' : 'False',
      reason: obs.ca.reason,
      message: obs.ca.message,
    },
    ControlPlaneReady: deploymentVerdict('control plane', obs.controlPlane),
    GatewaysReady: gatewaysVerdict(obs.gateways),
    WebhooksReady: {
      status: obs.webhooks.ready ? 'True' : 'False',
      reason: obs.webhooks.reason,
      message: obs.webhooks.message,
    },
  } satisfies Record<Exclude<ConditionType, 'Ready'>, Verdict>;
  const notReady = (Object.entries(verdicts) as [ConditionType, Verdict][]).filter(
    ([, v]) => v.status !== 'True',
  );
  const ready: Verdict =
    notReady.length === 0
      ? { status: 'True', reason: 'Healthy', message: 'the mesh is ready' }
      : {
          status: 'False',
          reason: notReady[0]![1].reason,
          message: notReady.map(([type, v]) => `${type}: ${v.message}`).join('; '),
        };
  return { ...verdicts, Ready: ready };
}

/**
 * The Mesh's conditions: a transition time changes only when a condition's status does, so a
 * reconcile that sees nothing new writes nothing new. Pure.
 */
export function computeConditions(
  obs: MeshObservation,
  previous: readonly Condition[] | undefined,
  now: string,
): Condition[] {
  const verdicts = conditionVerdicts(obs);
  return CONDITION_TYPES.map((type) => {
    const verdict = verdicts[type];
    const before = previous?.find((c) => c.type === type);
    const lastTransitionTime = before && before.status === verdict.status ? before.lastTransitionTime : now;
    return { type, ...verdict, lastTransitionTime, observedGeneration: obs.generation };
  });
}

/** `Healthy`, or the reason of the first condition that is not True. Pure. */
export function meshState(conditions: readonly Condition[]): string {
  return conditions.find((c) => c.status !== 'True')?.reason ?? 'Healthy';
}

/**
 * Conditions of a Mesh that is not reconciled because another Mesh already manages the cluster
 * (webhooks, RBAC and the root certificate are cluster-wide: two Meshes would fight over them). Pure.
 */
export function inactiveMeshConditions(
  activeMesh: string,
  generation: number,
  previous: readonly Condition[] | undefined,
  now: string,
): Condition[] {
  const message = `Mesh ${activeMesh} already manages this cluster and only one Mesh is reconciled; delete one of the two`;
  return CONDITION_TYPES.map((type) => {
    const status = type === 'Reconciled' || type === 'Ready' ? 'False' : 'Unknown';
    const before = previous?.find((c) => c.type === type);
    const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : now;
    return {
      type,
      status,
      reason: 'AnotherMeshActive',
      message,
      lastTransitionTime,
      observedGeneration: generation,
    };
  });
}

/** The Mesh that manages the cluster: the oldest, by creation time then name. Pure. */
export function activeMeshName(
  meshes: readonly {
    metadata?: { name?: string; creationTimestamp?: Date | string; deletionTimestamp?: Date | string };
  }[],
): string | undefined {
  const candidates = meshes.filter((m) => !m.metadata?.deletionTimestamp && m.metadata?.name);
  candidates.sort((a, b) => {
    const ta = new Date(a.metadata?.creationTimestamp ?? 0).getTime();
    const tb = new Date(b.metadata?.creationTimestamp ?? 0).getTime();
    return ta - tb || a.metadata!.name!.localeCompare(b.metadata!.name!);
  });
  return candidates[0]?.metadata?.name;
}
