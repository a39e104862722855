import type { V1Container, V1Pod } from '@kubernetes/client-node';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { TLS_MODE_LABEL } from '../../controllers/discovery/normalize.js';
import { resourceLabel } from '../admission.js';
import { captureContainer } from './capture-container.js';
import { withScrapeAnnotations } from './metrics-annotations.js';
import { annotations, CAPTURE_CONTAINER, PROXY_CONTAINER } from './names.js';
import { podOverrides, type AnnotationProblem } from './pod-overrides.js';
import { rewriteHttpProbes, type AppProbers } from './probes.js';
import { proxyContainer } from './proxy-container.js';
import { proxyResources } from './proxy-resources.js';
import type { InjectionSettings } from './settings.js';
import { proxyVolumes, volumeNames } from './volumes.js';
import { skipReason } from './which-pods.js';
import { workloadName } from './workload-name.js';

export type InjectionOutcome =
  | { readonly kind: 'injected'; readonly pod: V1Pod; readonly patch: Operation[] }
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'refused'; readonly message: string };

/** What was injected, recorded on the pod; its presence is what makes a second pass a no-op. */
export interface InjectionStatus {
  readonly revision: string;
  readonly initContainers: string[];
  readonly containers: string[];
  readonly volumes: string[];
}

/** One message naming the pod, each annotation, what is wrong and the fix. Pure. */
export function describeAnnotationProblems(podLabel: string, problems: readonly AnnotationProblem[]): string {
  return `${podLabel} cannot be given a Weft proxy: ${problems
    .map((p) => `annotation ${p.annotation}: "${p.value}": ${p.problem}; ${p.fix}`)
    .join('; ')}. Fix the annotation on the pod (or its workload's pod template) and create it again.`;
}

/** The pod's containers and init containers with the proxy and the capture step placed. */
function placeContainers(
  pod: V1Pod,
  appContainers: V1Container[],
  proxy: V1Container,
  capture: V1Container,
  native: boolean,
  hold: boolean,
): { initContainers: V1Container[]; containers: V1Container[] } {
  const appInit = pod.spec?.initContainers ?? [];
  // Capture first; a native proxy right after it, so the application's own init containers already
  // have a proxy behind the capture rules. A classic proxy goes first only to hold the application.
  if (native) return { initContainers: [capture, proxy, ...appInit], containers: appContainers };
  return {
    initContainers: [capture, ...appInit],
    containers: hold ? [proxy, ...appContainers] : [...appContainers, proxy],
  };
}

function withAnnotations(
  pod: V1Pod,
  settings: InjectionSettings,
  status: InjectionStatus,
  appProbers: AppProbers,
  firstAppContainer: string | undefined,
): Record<string, string> {
  const existing = pod.metadata?.annotations ?? {};
  return {
    ...(settings.metrics ? withScrapeAnnotations(existing) : existing),
    // `kubectl logs` and `exec` keep going to the application, not to the proxy.
    ...(firstAppContainer && existing[annotations.defaultContainer] === undefined
      ? { [annotations.defaultContainer]: firstAppContainer }
      : {}),
    ...(Object.keys(appProbers).length > 0 ? { [annotations.appProbers]: JSON.stringify(appProbers) } : {}),
    [annotations.status]: JSON.stringify(status),
  };
}

/**
 * Sidecar injection: the pod with the Weft proxy, the capture init container, their volumes, the
 * probe rewriting and the annotations, plus the JSON patch from the pod as sent to the pod as
 * returned. A pod that is not to be injected is skipped; one whose annotations cannot be used is
 * refused with every problem named. Never throws for any pod. Pure.
 */
export function injectPod(pod: V1Pod, namespace: string, settings: InjectionSettings): InjectionOutcome {
  const reason = skipReason(pod, namespace, settings.meshNamespace);
  if (reason) return { kind: 'skipped', reason };

  const { overrides, problems } = podOverrides(pod.metadata?.annotations ?? {});
  const resources = proxyResources(settings.proxy.resources, overrides.resources);
  const allProblems = [...problems, ...resources.problems];
  if (allProblems.length > 0) {
    const podLabel = resourceLabel({ ...pod, metadata: { ...pod.metadata, namespace } }, 'Pod');
    return { kind: 'refused', message: describeAnnotationProblems(podLabel, allProblems) };
  }

  const native = overrides.nativeSidecar ?? settings.proxy.nativeSidecar;
  const hold = settings.proxy.holdApplicationUntilProxyStarts;
  const appContainers = pod.spec?.containers ?? [];
  const probes = overrides.rewriteAppHTTPProbers
    ? rewriteHttpProbes(appContainers)
    : { containers: appContainers, appProbers: {} };
  const labels = { ...pod.metadata?.labels, [TLS_MODE_LABEL]: 'weft' };
  const proxy = proxyContainer({
    settings,
    workload: workloadName(pod),
    labels,
    resources: resources.resources,
    native,
    holdApplication: hold,
    appProbers: Object.keys(probes.appProbers).length > 0,
  });
  const placed = placeContainers(
    pod,
    probes.containers,
    proxy,
    captureContainer(settings.image, overrides.capture),
    native,
    hold,
  );
  const status: InjectionStatus = {
    revision: settings.revision,
    initContainers: native ? [CAPTURE_CONTAINER, PROXY_CONTAINER] : [CAPTURE_CONTAINER],
    containers: native ? [] : [PROXY_CONTAINER],
    volumes: [volumeNames.token, volumeNames.rootCert],
  };
  const injected: V1Pod = {
    ...pod,
    metadata: {
      ...pod.metadata,
      labels,
      annotations: withAnnotations(pod, settings, status, probes.appProbers, appContainers[0]?.name),
    },
    spec: {
      ...pod.spec,
      ...placed,
      volumes: [...(pod.spec?.volumes ?? []), ...proxyVolumes()],
    },
  };
  return { kind: 'injected', pod: injected, patch: fastJsonPatch.compare(pod, injected) };
}
