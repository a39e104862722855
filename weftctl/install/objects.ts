import type { KubernetesObject, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { OPERATOR_NAME, OPERATOR_NAMESPACE, renderOperatorInstall } from '../../cdk8s/operator-install.js';
import { readGeneratedCrds } from '../commands/manifest-generate.js';

/** What weftctl installs: the same objects weftctl manifest generate prints, as objects. */
export interface InstallObjects {
  readonly crds: readonly V1CustomResourceDefinition[];
  /** Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Deployment, in apply order. */
  readonly operator: readonly KubernetesObject[];
  readonly namespace: string;
  readonly deployment: { readonly namespace: string; readonly name: string };
}

export interface InstallOptions {
  readonly version: string;
  readonly namespace?: string;
  readonly image?: string;
}

/** The CRDs (from crds/generated/) and the operator's install (from cdk8s/operator-install.ts). */
export function installObjects(
  options: InstallOptions,
  crdTexts: readonly string[] = readGeneratedCrds(),
): InstallObjects {
  const namespace = options.namespace ?? OPERATOR_NAMESPACE;
  return {
    crds: crdTexts.map((text) => parse(text) as V1CustomResourceDefinition),
    operator: renderOperatorInstall({ version: options.version, namespace, image: options.image }),
    namespace,
    deployment: { namespace, name: OPERATOR_NAME },
  };
}

/** Namespaces an uninstall never deletes, whatever an install was pointed at. */
export const PROTECTED_NAMESPACES: ReadonlySet<string> = new Set([
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
]);
