import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { CONTROL_PLANE_NAME, DEFAULT_REVISION, imageFor, ports } from '../../cdk8s/names.js';
import { meshSpecWithDefaults } from '../../crds/defaults.js';
import type { Mesh, ResourceRequirements } from '../../crds/generated/types/mesh.js';

/** What the Mesh decides about every injected pod; pod annotations may override some of it. */
export interface InjectionSettings {
  readonly meshNamespace: string;
  readonly revision: string;
  /** The one Weft image; its `proxy` and `weft-init` entrypoints run in the pod. */
  readonly image: string;
  /** Where the proxy gets its certificate and configuration: the control plane's TLS port. */
  readonly controlPlaneUrl: string;
  readonly proxy: {
    readonly resources: V1ResourceRequirements;
    readonly logLevel: string;
    readonly holdApplicationUntilProxyStarts: boolean;
    readonly nativeSidecar: boolean;
  };
  /** Whether pods get Prometheus scrape annotations for the proxy's metrics. */
  readonly metrics: boolean;
  /** Whether the proxy writes an access log (`--access-log`). */
  readonly accessLogs: boolean;
}

/**
 * A sidecar's default resources: the measured idle proxy holds about 82 MiB (README), so the request
 * covers it; no CPU limit, which would only throttle the application's traffic.
 */
const DEFAULT_PROXY_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { memory: '512Mi' },
};

/** The Mesh's quantities (integers or strings) as the strings a container's resources hold. */
function asContainerResources(resources: ResourceRequirements): V1ResourceRequirements {
  const strings = (list?: Record<string, number | string>): Record<string, string> | undefined =>
    list && Object.fromEntries(Object.entries(list).map(([k, v]) => [k, String(v)]));
  const requests = strings(resources.requests);
  const limits = strings(resources.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

/** The injection settings of the active Mesh. Pure. */
export function injectionSettings(mesh: Mesh): InjectionSettings {
  const spec = meshSpecWithDefaults(mesh.spec);
  return {
    meshNamespace: spec.namespace,
    revision: DEFAULT_REVISION,
    image: imageFor(spec.version),
    controlPlaneUrl: `https://${CONTROL_PLANE_NAME}.${spec.namespace}.svc:${ports.pushMtls}`,
    proxy: {
      resources: spec.proxy.resources ? asContainerResources(spec.proxy.resources) : DEFAULT_PROXY_RESOURCES,
      logLevel: spec.proxy.logLevel ?? 'info',
      holdApplicationUntilProxyStarts: spec.proxy.holdApplicationUntilProxyStarts ?? false,
      nativeSidecar: spec.proxy.nativeSidecar ?? true,
    },
    metrics: spec.telemetry.metrics?.enabled ?? true,
    accessLogs: spec.telemetry.accessLogs?.enabled ?? true,
  };
}
