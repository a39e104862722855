/** Names and labels every renderer and the reconciler agree on. */

export const CONTROL_PLANE_NAME = 'weft-control-plane';
export const CA_SECRET_NAME = 'weft-ca-secret';
/** Registration tokens of WorkloadEntry workloads (VMs), `<namespace>.<serviceAccount>: <token>`. */
export const REGISTRATION_SECRET_NAME = 'weft-workload-registration';
export const ROOT_CERT_CONFIGMAP = 'weft-ca-root-cert';
export const INJECTOR_WEBHOOK_NAME = 'weft-sidecar-injector';
export const VALIDATOR_WEBHOOK_NAME = 'weft-validator';
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/weft-dev/weft';
/**
 * The revision an in-place Mesh answers to in `weft.dev/rev=<revision>`, as Istio's default revision:
 * there is one control plane per cluster until RevisionBased upgrades exist (ADR 0003).
 */
export const DEFAULT_REVISION = 'default';

export const ports = {
  pushPlaintext: 15010,
  pushMtls: 15012,
  monitoring: 15014,
  webhook: 15017,
  proxyAdmin: 15000,
  proxyOutbound: 15001,
  proxyInbound: 15006,
  proxyHealth: 15021,
  proxyMetrics: 15090,
} as const;

export const labelKeys = {
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  name: 'app.kubernetes.io/name',
  component: 'app.kubernetes.io/component',
  version: 'app.kubernetes.io/version',
  mesh: 'weft.dev/mesh',
  gateway: 'weft.dev/gateway',
  ignore: 'weft.dev/ignore',
  injectOptOut: 'sidecar.weft.dev/inject',
  inject: 'weft.dev/inject',
  revision: 'weft.dev/rev',
} as const;

export const MANAGED_BY = 'weft-operator';

/** Labels on every child of a Mesh; the operator finds, maps and prunes children by them. */
export function meshLabels(meshName: string, component: string, version: string): Record<string, string> {
  return {
    [labelKeys.managedBy]: MANAGED_BY,
    [labelKeys.partOf]: 'weft',
    [labelKeys.mesh]: meshName,
    [labelKeys.component]: component,
    [labelKeys.version]: version,
  };
}

export function imageFor(version: string, override?: string): string {
  return override ?? `${DEFAULT_IMAGE_REPOSITORY}:${version.startsWith('v') ? version : `v${version}`}`;
}
