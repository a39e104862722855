import type { V1Pod } from '@kubernetes/client-node';
import { labelKeys } from '../../cdk8s/names.js';
import { annotations, CAPTURE_CONTAINER, PROXY_CONTAINER } from './names.js';

const ALWAYS_EXCLUDED_NAMESPACES = ['kube-system'];

/**
 * Why a pod is not injected, or undefined when it is. The webhook configuration's selectors already
 * keep most of these away; this is the same rule where the pod is seen, so a webhook configured by
 * hand, or a pod sent twice, is still handled right. Pure.
 */
export function skipReason(pod: V1Pod, namespace: string, meshNamespace: string): string | undefined {
  if (ALWAYS_EXCLUDED_NAMESPACES.includes(namespace)) return `namespace ${namespace} is never injected`;
  if (namespace === meshNamespace) return `namespace ${namespace} is the mesh's own`;
  if (pod.metadata?.labels?.[labelKeys.injectOptOut] === 'false')
    return `the pod is labelled ${labelKeys.injectOptOut}: "false"`;
  // Capture rules in a host-network pod would be installed in the node's own network namespace.
  if (pod.spec?.hostNetwork) return 'the pod uses the host network';
  return alreadyInjected(pod);
}

function alreadyInjected(pod: V1Pod): string | undefined {
  if (pod.metadata?.annotations?.[annotations.status] !== undefined)
    return `the pod is already injected (annotation ${annotations.status})`;
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  const present = [PROXY_CONTAINER, CAPTURE_CONTAINER].find((n) => names.includes(n));
  return present ? `the pod already has a container named ${present}` : undefined;
}
