import { isDeepStrictEqual } from 'node:util';
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1DeploymentStatus,
  type V1MutatingWebhookConfiguration,
  type V1Namespace,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { renderMesh } from '../../cdk8s/mesh-chart.js';
import { injectionNamespaceSelectors } from '../../cdk8s/injection-selectors.js';
import {
  CONTROL_PLANE_NAME,
  INJECTOR_WEBHOOK_NAME,
  labelKeys,
  VALIDATOR_WEBHOOK_NAME,
} from '../../cdk8s/names.js';
import { meshSpecWithDefaults, type DefaultedMeshSpec } from '../../crds/defaults.js';
import type { Condition, Mesh, MeshStatus } from '../../crds/generated/types/mesh.js';
import { FIELD_MANAGER, statusCodeOf, type Applier } from '../runtime/apply.js';
import type { ObjectKey, ReconcileResult, Reconciler } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import { kinds, type KindInfo } from '../runtime/kinds.js';
import { matchesSelector } from '../runtime/label-selector.js';
import { resolveCertificateAuthority, type CaOutcome } from './certificate-authority.js';
import {
  caBundleOwnedByOther,
  childrenToPrune,
  describeObject,
  isIgnored,
  objectRef,
  ownerReferenceTo,
  withOwner,
  withoutCaBundle,
  WEBHOOK_KINDS,
} from './children.js';
import {
  computeConditions,
  meshState,
  activeMeshName,
  inactiveMeshConditions,
  type DeploymentObservation,
  type MeshObservation,
} from './conditions.js';

export const MESH_FINALIZER = 'mesh.weft.dev/cleanup';

/** The kinds a Mesh is made of, each watched through an informer filtered to the operator's children. */
export const CHILD_KINDS = [
  kinds.namespace,
  kinds.serviceAccount,
  kinds.service,
  kinds.configMap,
  kinds.deployment,
  kinds.podDisruptionBudget,
  kinds.role,
  kinds.roleBinding,
  kinds.clusterRole,
  kinds.clusterRoleBinding,
  kinds.mutatingWebhook,
  kinds.validatingWebhook,
] as const satisfies readonly KindInfo[];

export interface MeshReconcilerDeps {
  readonly kc: KubeConfig;
  readonly applier: Applier;
  readonly events: EventRecorder;
  readonly meshes: Informer<Mesh & KubernetesObject>;
  /** All namespaces, unfiltered: injection selects them by label. */
  readonly namespaces: Informer<V1Namespace>;
  /** Children of every Mesh, by kind (`Kind` → informer). */
  readonly children: ReadonlyMap<string, Informer<KubernetesObject>>;
  readonly controlPlaneUrl?: string;
}

/** How often a healthy Mesh is looked at again even without events (level-based safety net). */
const RESYNC_MS = 10 * 60_000;
const NOT_READY_REQUEUE_MS = 15_000;
/** A plug-in CA Secret is not watched (watching every Secret would cache them all), so its absence is polled. */
const CA_NOT_READY_REQUEUE_MS = 5_000;

/**
 * Reconciles a Mesh: renders its children with cdk8s, applies them server-side, prunes what is no
 * longer wanted, and reports what it sees as conditions. Level-based: it reads the world on every
 * call and never relies on the event that triggered it.
 */
export class MeshReconciler implements Reconciler {
  private readonly customObjects: CustomObjectsApi;

  constructor(private readonly deps: MeshReconcilerDeps) {
    this.customObjects = deps.kc.makeApiClient(CustomObjectsApi);
  }

  async reconcile(key: ObjectKey, log: Logger): Promise<ReconcileResult | void> {
    const cached = this.deps.meshes.get(key.name);
    if (!cached) return;
    const mesh = { ...cached, apiVersion: kinds.mesh.apiVersion, kind: kinds.mesh.kind };
    if (mesh.metadata?.deletionTimestamp) return this.finalize(mesh, log);
    if (!mesh.metadata?.finalizers?.includes(MESH_FINALIZER)) await this.addFinalizer(mesh);

    const active = activeMeshName(this.deps.meshes.list());
    if (active !== undefined && active !== mesh.metadata?.name) return this.standAside(mesh, active, log);

    const spec = meshSpecWithDefaults(mesh.spec);
    const { ca, failures } = await this.applyChildren(mesh, spec, log);
    const observation = this.observe(mesh, spec, ca, failures);
    const status = this.statusFrom(mesh, spec, ca, observation);
    await this.writeStatus(mesh, status, log);

    const ready = status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return { requeueAfterMs: ready ? RESYNC_MS : ca.ready ? NOT_READY_REQUEUE_MS : CA_NOT_READY_REQUEUE_MS };
  }

  /** Renders and applies every child, prunes the ones no longer wanted; returns the CA and what failed. */
  private async applyChildren(
    mesh: Mesh & KubernetesObject,
    spec: DefaultedMeshSpec,
    log: Logger,
  ): Promise<{ ca: CaOutcome; failures: string[] }> {
    const owner = ownerReferenceTo(mesh);
    const failures: string[] = [];
    const changes: string[] = [];

    // The install namespace first: the CA Secret and the control plane live in it.
    const namespaceObject = renderMesh(this.renderInput(mesh, spec)).find((o) => o.kind === 'Namespace');
    if (namespaceObject) await this.applyChild(withOwner(namespaceObject, owner), failures, changes, log);
    const ca = await this.resolveCa(mesh, spec, owner, log);

    const desired = renderMesh(this.renderInput(mesh, spec, ca)).map((o) => withOwner(o, owner));
    for (const obj of desired) {
      if (obj.kind !== 'Namespace') await this.applyChild(obj, failures, changes, log);
    }
    await this.prune(mesh, desired, failures, log);
    if (changes.length > 0) {
      await this.deps.events.record(
        mesh,
        'Normal',
        'ChildrenApplied',
        `applied ${changes.length}: ${changes.join(', ')}`,
      );
    }
    return { ca, failures };
  }

  private renderInput(mesh: Mesh, spec: DefaultedMeshSpec, ca?: CaOutcome): Parameters<typeof renderMesh>[0] {
    const webhooks = [
      [INJECTOR_WEBHOOK_NAME, kinds.mutatingWebhook.kind],
      [VALIDATOR_WEBHOOK_NAME, kinds.validatingWebhook.kind],
    ] as const;
    return {
      meshName: mesh.metadata!.name!,
      spec,
      rootCertPem: ca?.ready ? ca.rootPem : undefined,
      injectedNamespaces: this.injectedNamespaces(spec),
      controlPlaneUrl: this.deps.controlPlaneUrl,
      caBundleOwnedElsewhere: new Set(
        webhooks
          .filter(([name, kind]) => caBundleOwnedByOther(this.deps.children.get(kind)?.get(name)))
          .map(([name]) => name),
      ),
    };
  }

  /** Namespaces selected for injection (by the Mesh's selector or the revision label), never the system's. */
  private injectedNamespaces(spec: DefaultedMeshSpec): string[] {
    const selectors = injectionNamespaceSelectors(spec.injection.namespaceSelector ?? {});
    return this.deps.namespaces
      .list()
      .filter(
        (ns) =>
          !ns.metadata?.deletionTimestamp &&
          selectors.some((selector) => matchesSelector(ns.metadata?.labels, selector)),
      )
      .map((ns) => ns.metadata!.name!)
      .filter((name) => name !== 'kube-system')
      .sort();
  }

  private async resolveCa(
    mesh: Mesh & KubernetesObject,
    spec: DefaultedMeshSpec,
    owner: ReturnType<typeof ownerReferenceTo>,
    log: Logger,
  ): Promise<CaOutcome> {
    try {
      const ca = await resolveCertificateAuthority(this.deps.applier, mesh.metadata!.name!, [owner], spec);
      if (ca.ready && ca.created) {
        log.info(
          { fingerprint: ca.root.fingerprintSHA256, notAfter: ca.root.notAfter },
          'generated mesh root CA',
        );
        await this.deps.events.record(
          mesh,
          'Normal',
          'CertificateAuthorityCreated',
          `${ca.message}; root SHA-256 ${ca.root.fingerprintSHA256}, valid until ${ca.root.notAfter}`,
        );
      }
      return ca;
    } catch (err) {
      return {
        ready: false,
        reason: 'SecretUnreadable',
        message: `reading the CA Secret failed: ${errorMessage(err)}`,
      };
    }
  }

  /** Applies one child unless a person took it over; records failures and real changes. */
  private async applyChild(
    obj: KubernetesObject,
    failures: string[],
    changes: string[],
    log: Logger,
  ): Promise<void> {
    const live = this.deps.children.get(obj.kind!)?.get(obj.metadata!.name!, obj.metadata?.namespace);
    if (isIgnored(live)) return;
    try {
      const applied = await this.applyResolvingCaBundle(obj);
      if (!live) changes.push(`created ${describeObject(obj)}`);
      else if (lastAppliedAt(applied) !== lastAppliedAt(live))
        changes.push(`restored ${describeObject(obj)}`);
    } catch (err) {
      const message = `${describeObject(obj)}: ${errorMessage(err)}`;
      log.warn({ object: objectRef(obj), err: errorMessage(err) }, 'apply failed');
      failures.push(message);
    }
  }

  /**
   * Server-side apply, forced: hand edits are drift. Webhook configurations are the exception for one
   * field: they are applied unforced first, and if another manager (the control plane rotating its
   * serving certificate) owns a different caBundle, applied again without it. This settles the race
   * where the control plane rotates between this reconcile's read and its write.
   */
  private async applyResolvingCaBundle(obj: KubernetesObject): Promise<KubernetesObject> {
    if (!WEBHOOK_KINDS.has(obj.kind!)) return this.deps.applier.apply(obj);
    try {
      return await this.deps.applier.apply(obj, { force: false });
    } catch (err) {
      if (statusCodeOf(err) !== 409) throw err;
      // Other conflicting fields are drift and are taken back; the caBundle only if nobody else owns it.
      return this.deps.applier.apply(conflictsOnCaBundle(err) ? withoutCaBundle(obj) : obj);
    }
  }

  private async prune(
    mesh: KubernetesObject,
    desired: readonly KubernetesObject[],
    failures: string[],
    log: Logger,
  ): Promise<void> {
    for (const info of CHILD_KINDS) {
      const live = this.liveChildren(mesh, info);
      for (const stale of childrenToPrune(live, desired)) {
        try {
          await this.deps.applier.delete(stale);
          log.info({ object: objectRef(stale) }, 'pruned child no longer in the Mesh');
          await this.deps.events.record(
            mesh,
            'Normal',
            'ChildPruned',
            `deleted ${describeObject(stale)}, no longer part of the Mesh`,
          );
        } catch (err) {
          failures.push(`pruning ${describeObject(stale)}: ${errorMessage(err)}`);
        }
      }
    }
  }

  /** This Mesh's children of one kind, from the cache, with apiVersion and kind set. */
  private liveChildren(mesh: KubernetesObject, info: KindInfo): KubernetesObject[] {
    const informer = this.deps.children.get(info.kind);
    return (informer?.list() ?? [])
      .filter((obj) => obj.metadata?.labels?.[labelKeys.mesh] === mesh.metadata?.name)
      .map((obj) => ({ ...obj, apiVersion: info.apiVersion, kind: info.kind }));
  }

  /** A child from the informer cache, typed by its kind. */
  private child<T extends KubernetesObject>(info: KindInfo, name: string, namespace?: string): T | undefined {
    return this.deps.children.get(info.kind)?.get(name, namespace) as T | undefined;
  }

  private observeDeployment(namespace: string, name: string): DeploymentObservation {
    const d = this.child<V1Deployment>(kinds.deployment, name, namespace);
    if (!d) return { found: false, replicas: 0, readyReplicas: 0, rolledOut: false };
    const replicas = d.spec?.replicas ?? 1;
    const status = d.status ?? {};
    const rolledOut =
      (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
      (status.updatedReplicas ?? 0) >= replicas &&
      (status.availableReplicas ?? 0) >= replicas;
    const stalled = stalledRollout(status);
    return {
      found: true,
      replicas,
      readyReplicas: status.readyReplicas ?? 0,
      rolledOut,
      ...(stalled !== undefined ? { stalled } : {}),
    };
  }

  private observe(
    mesh: KubernetesObject,
    spec: DefaultedMeshSpec,
    ca: CaOutcome,
    failures: readonly string[],
  ): MeshObservation {
    return {
      generation: mesh.metadata?.generation ?? 0,
      apply:
        failures.length === 0
          ? { ok: true }
          : { ok: false, reason: 'ApplyFailed', message: failures.join('; ') },
      ca: ca.ready
        ? { ready: true, reason: ca.reason, message: ca.message }
        : { ready: false, reason: ca.reason, message: ca.message },
      controlPlane: this.observeDeployment(spec.namespace, CONTROL_PLANE_NAME),
      gateways: (spec.gateways ?? []).map((g) => ({
        name: g.name,
        ...this.observeDeployment(g.namespace ?? spec.namespace, g.name),
      })),
      webhooks: this.observeWebhooks(ca),
    };
  }

  private observeWebhooks(ca: CaOutcome): MeshObservation['webhooks'] {
    if (!ca.ready) {
      return {
        ready: false,
        reason: 'WaitingForCertificateAuthority',
        message: 'webhooks need the mesh CA for their caBundle',
      };
    }
    const configs = [
      this.child<V1MutatingWebhookConfiguration>(kinds.mutatingWebhook, INJECTOR_WEBHOOK_NAME),
      this.child<V1ValidatingWebhookConfiguration>(kinds.validatingWebhook, VALIDATOR_WEBHOOK_NAME),
    ];
    if (configs.some((c) => !c))
      return { ready: false, reason: 'NotFound', message: 'webhook configurations are not created yet' };
    const missing = configs
      .filter((c) => (c!.webhooks ?? []).some((w) => !w.clientConfig.caBundle))
      .map((c) => c!.metadata!.name);
    if (missing.length > 0)
      return { ready: false, reason: 'CABundleMissing', message: `no caBundle yet in ${missing.join(', ')}` };
    const target = this.deps.controlPlaneUrl ?? webhookTarget(configs);
    return { ready: true, reason: 'Configured', message: `injection and validation webhooks call ${target}` };
  }

  private statusFrom(mesh: Mesh, spec: DefaultedMeshSpec, ca: CaOutcome, obs: MeshObservation): MeshStatus {
    const conditions = computeConditions(obs, mesh.status?.conditions, nowSeconds());
    return {
      observedGeneration: obs.generation,
      state: meshState(conditions),
      conditions,
      controlPlane: {
        name: CONTROL_PLANE_NAME,
        replicas: obs.controlPlane.replicas,
        readyReplicas: obs.controlPlane.readyReplicas,
      },
      gateways: obs.gateways.map((g) => ({
        name: g.name,
        replicas: g.replicas,
        readyReplicas: g.readyReplicas,
      })),
      ...(ca.ready
        ? {
            certificateAuthority: {
              source: ca.reason,
              secretName: `${spec.namespace}/${ca.secretName}`,
              rootFingerprintSHA256: ca.root.fingerprintSHA256,
              rootNotAfter: ca.root.notAfter,
            },
          }
        : {}),
    };
  }

  /** A second Mesh reconciles nothing, and says why. */
  private async standAside(mesh: Mesh & KubernetesObject, active: string, log: Logger): Promise<void> {
    const generation = mesh.metadata?.generation ?? 0;
    const conditions = inactiveMeshConditions(active, generation, mesh.status?.conditions, nowSeconds());
    await this.writeStatus(
      mesh,
      { observedGeneration: generation, state: meshState(conditions), conditions },
      log,
    );
  }

  /** Writes status through /status, and only when it changed; records an Event per condition transition. */
  private async writeStatus(mesh: Mesh & KubernetesObject, status: MeshStatus, log: Logger): Promise<void> {
    if (isDeepStrictEqual(normalise(mesh.status), normalise(status))) return;
    await this.customObjects.patchClusterCustomObjectStatus(
      {
        group: 'mesh.weft.dev',
        version: 'v1alpha1',
        plural: kinds.mesh.plural,
        name: mesh.metadata!.name!,
        body: {
          apiVersion: kinds.mesh.apiVersion,
          kind: kinds.mesh.kind,
          metadata: { name: mesh.metadata!.name },
          status,
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    for (const condition of transitions(mesh.status?.conditions, status.conditions ?? [])) {
      const type = condition.status === 'True' ? 'Normal' : 'Warning';
      const reason =
        condition.type === 'Ready'
          ? condition.status === 'True'
            ? 'MeshReady'
            : 'MeshNotReady'
          : condition.reason;
      await this.deps.events.record(
        mesh,
        type,
        reason,
        `${condition.type}=${condition.status}: ${condition.message}`,
      );
    }
    log.info({ state: status.state, generation: status.observedGeneration }, 'status updated');
  }

  private async addFinalizer(mesh: KubernetesObject): Promise<void> {
    await this.deps.applier.api.patch(
      {
        apiVersion: mesh.apiVersion,
        kind: mesh.kind,
        metadata: {
          name: mesh.metadata!.name,
          finalizers: [...(mesh.metadata?.finalizers ?? []), MESH_FINALIZER],
        },
      },
      undefined,
      undefined,
      FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    );
  }

  /**
   * On delete: remove the cluster-scoped children (and root-certificate copies in other namespaces)
   * explicitly, then release the finalizer; namespaced children in the mesh namespace go with it.
   */
  private async finalize(mesh: Mesh & KubernetesObject, log: Logger): Promise<void> {
    if (!mesh.metadata?.finalizers?.includes(MESH_FINALIZER)) return;
    for (const info of CHILD_KINDS.filter((k) => !k.namespaced || k === kinds.configMap)) {
      for (const child of this.liveChildren(mesh, info)) {
        if (isIgnored(child)) continue;
        await this.deps.applier.delete(child);
        log.info({ object: objectRef(child) }, 'deleted child of a deleted Mesh');
      }
    }
    await this.deps.applier.api.patch(
      {
        apiVersion: mesh.apiVersion,
        kind: mesh.kind,
        metadata: {
          name: mesh.metadata.name,
          finalizers: mesh.metadata.finalizers.filter((f) => f !== MESH_FINALIZER),
        },
      },
      undefined,
      undefined,
      FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    );
    await this.deps.events.record(
      mesh,
      'Normal',
      'Deleted',
      'removed the mesh control plane, gateways, webhooks and RBAC',
    );
  }
}

function webhookTarget(
  configs: readonly (V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration | undefined)[],
): string {
  const service = configs[0]?.webhooks?.[0]?.clientConfig.service;
  return service ? `service ${service.namespace}/${service.name}` : 'the control plane';
}

/**
 * When the operator's own apply last changed an object. A server-side apply that changes nothing
 * leaves this time alone, so a different time after an apply means the apply repaired something.
 */
function lastAppliedAt(obj: KubernetesObject): string | undefined {
  const entry = obj.metadata?.managedFields?.find(
    (m) => m.manager === FIELD_MANAGER && m.operation === 'Apply' && !m.subresource,
  );
  return entry?.time === undefined ? undefined : new Date(entry.time).toISOString();
}

/** Condition timestamps are RFC 3339 with seconds, as the Kubernetes API conventions have them. */
function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Conditions whose status changed from `before` to `after`. Pure. */
export function transitions(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): Condition[] {
  return after.filter((c) => before?.find((b) => b.type === c.type)?.status !== c.status);
}

/** Status as stored: JSON round-trip drops undefined fields, so comparisons see what the API server has. */
/** The Deployment controller's message when the rollout passed its progress deadline. Pure. */
function stalledRollout(status: V1DeploymentStatus): string | undefined {
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status !== 'False' || progressing.reason !== 'ProgressDeadlineExceeded') return undefined;
  return progressing.message ?? 'progress deadline exceeded';
}

function normalise(status: MeshStatus | undefined): unknown {
  return status === undefined ? undefined : JSON.parse(JSON.stringify(status));
}

/** Whether a server-side apply conflict names a webhook's caBundle among the contested fields. */
function conflictsOnCaBundle(err: unknown): boolean {
  const body = (err as { body?: unknown }).body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as {
      details?: { causes?: { field?: string }[] };
    };
    return (status.details?.causes ?? []).some((c) => c.field?.includes('caBundle'));
  } catch {
    return false;
  }
}

function errorMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return err instanceof Error ? err.message : String(err);
}
