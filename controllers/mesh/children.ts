import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { labelKeys } from '../../cdk8s/names.js';
import { FIELD_MANAGER } from '../runtime/apply.js';

/** Identity of an object across kinds: apiVersion, kind, namespace and name. */
export function objectRef(obj: KubernetesObject): string {
  return `${obj.apiVersion}/${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function describeObject(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind} ${ns ? `${ns}/` : ''}${obj.metadata?.name}`;
}

export function ownerReferenceTo(mesh: KubernetesObject): V1OwnerReference {
  return {
    apiVersion: mesh.apiVersion!,
    kind: mesh.kind!,
    name: mesh.metadata!.name!,
    uid: mesh.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Sets the Mesh as the controlling owner, so the garbage collector removes the child with it. Pure. */
export function withOwner<T extends KubernetesObject>(obj: T, owner: V1OwnerReference): T {
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: [owner] } };
}

/** A child a person has taken over with `weft.dev/ignore: "true"` (label or annotation). Pure. */
export function isIgnored(obj: KubernetesObject | undefined): boolean {
  return (
    obj?.metadata?.labels?.[labelKeys.ignore] === 'true' ||
    obj?.metadata?.annotations?.[labelKeys.ignore] === 'true'
  );
}

/**
 * Whether a field manager other than the operator owns a webhook's caBundle, i.e. the control plane
 * has taken over rotating it. The operator then leaves the field out of its apply. Pure.
 */
export function caBundleOwnedByOther(obj: KubernetesObject | undefined): boolean {
  return (obj?.metadata?.managedFields ?? []).some(
    (entry) =>
      entry.manager !== FIELD_MANAGER && JSON.stringify(entry.fieldsV1 ?? {}).includes('"f:caBundle"'),
  );
}

export const WEBHOOK_KINDS: ReadonlySet<string> = new Set([
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);

/** A webhook configuration without its caBundle, for when another manager rotates it. Pure. */
export function withoutCaBundle<T extends KubernetesObject>(obj: T): T {
  const config = obj as T & { webhooks?: { clientConfig?: { caBundle?: string } }[] };
  return {
    ...config,
    webhooks: config.webhooks?.map((w) => {
      const { caBundle: _, ...clientConfig } = w.clientConfig ?? {};
      return { ...w, clientConfig };
    }),
  };
}

/** Live children (with apiVersion and kind set) no longer desired: pruned, unless a person asked the operator to leave them alone. Pure. */
export function childrenToPrune(
  live: readonly KubernetesObject[],
  desired: readonly KubernetesObject[],
): KubernetesObject[] {
  const wanted = new Set(desired.map(objectRef));
  return live.filter((obj) => !wanted.has(objectRef(obj)) && !isIgnored(obj));
}
