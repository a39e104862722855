import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';

/** The field manager of every write the operator makes. */
export const FIELD_MANAGER = 'weft-operator';

/** A client error's HTTP status, whichever shape client-node gave it. */
export function statusCodeOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  const code = e?.code ?? e?.statusCode ?? e?.response?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Server-side apply and friends, with the operator's field manager. */
export class Applier {
  readonly api: KubernetesObjectApi;

  constructor(kc: KubeConfig) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  /**
   * Server-side apply of the full desired state. `force` takes ownership of fields another manager set
   * (an edit by hand is drift to repair); an unchanged apply is a no-op that bumps no resourceVersion.
   */
  apply<T extends KubernetesObject>(obj: T, { force = true }: { force?: boolean } = {}): Promise<T> {
    return this.api.patch(obj, undefined, undefined, FIELD_MANAGER, force, PatchStrategy.ServerSideApply);
  }

  /** Reads an object, or undefined when it does not exist. */
  async read<T extends KubernetesObject>(obj: KubernetesObject): Promise<T | undefined> {
    try {
      return await this.api.read<T>({
        apiVersion: obj.apiVersion!,
        kind: obj.kind!,
        metadata: { name: obj.metadata!.name!, namespace: obj.metadata?.namespace },
      });
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Deletes an object in the background; a missing one is already what we want. */
  async delete(obj: KubernetesObject): Promise<boolean> {
    try {
      await this.api.delete(obj, undefined, undefined, undefined, undefined, 'Background');
      return true;
    } catch (err) {
      if (statusCodeOf(err) === 404) return false;
      throw err;
    }
  }
}
