import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { apiFailure, statusCodeOf } from './errors.js';

/** weftctl's field manager: what it applies is its own, apart from the operator's (weft-operator). */
export const FIELD_MANAGER = 'weftctl';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/** `Deployment weft-operator/weft-operator`, `ClusterRole weft-operator`. Pure. */
export function describeObject(o: KubernetesObject): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata?.name}`;
}

/** The header the object API needs to read or delete an object by name. */
const headerOf = (o: KubernetesObject): KubernetesObject => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace },
});

/** Server-side apply, reads and deletes as weftctl, with errors that name the object and what to do. */
export class ClusterWriter {
  readonly api: KubernetesObjectApi;
  readonly server: string;

  constructor(kc: KubeConfig) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
    this.server = kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
  }

  /** The live object, or undefined when it does not exist (or its kind is not served). */
  async read<T extends KubernetesObject>(o: KubernetesObject): Promise<T | undefined> {
    try {
      return await this.api.read<T>(headerOf(o) as T & { metadata: { name: string } });
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw apiFailure(`read ${describeObject(o)}`, err, this.server);
    }
  }

  /**
   * Applies `o` server-side and says what changed, as kubectl does: an unchanged apply is a no-op on
   * the server (same resourceVersion). Conflicts are forced: weftctl install is the owner of what it
   * installs, as istioctl install is.
   */
  async apply(o: KubernetesObject): Promise<ApplyOutcome> {
    const before = await this.read(o);
    let after: KubernetesObject;
    try {
      after = await this.api.patch(
        o,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (err) {
      throw apiFailure(`apply ${describeObject(o)}`, err, this.server);
    }
    if (!before) return 'created';
    return before.metadata?.resourceVersion === after.metadata?.resourceVersion ? 'unchanged' : 'configured';
  }

  /** Deletes `o` in the background; false when it was already gone. */
  async delete(o: KubernetesObject): Promise<boolean> {
    try {
      await this.api.delete(headerOf(o), undefined, undefined, undefined, undefined, 'Background');
      return true;
    } catch (err) {
      if (statusCodeOf(err) === 404) return false;
      throw apiFailure(`delete ${describeObject(o)}`, err, this.server);
    }
  }
}

/** "9 created", "3 unchanged, 2 configured". Pure. */
export function summariseOutcomes(outcomes: readonly ApplyOutcome[]): string {
  const order: ApplyOutcome[] = ['created', 'configured', 'unchanged'];
  return order
    .map((o) => [o, outcomes.filter((x) => x === o).length] as const)
    .filter(([, n]) => n > 0)
    .map(([o, n]) => `${n} ${o}`)
    .join(', ');
}
