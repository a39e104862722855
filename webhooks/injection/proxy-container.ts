import type { V1Container, V1EnvVar, V1Probe, V1ResourceRequirements } from '@kubernetes/client-node';
import { ports } from '../../cdk8s/names.js';
import { annotations, PROXY_CONTAINER, PROXY_READY_PATH, PROXY_UID } from './names.js';
import type { InjectionSettings } from './settings.js';
import { proxyFiles, proxyVolumeMounts } from './volumes.js';

export interface ProxyContainerInput {
  readonly settings: InjectionSettings;
  readonly workload: string;
  /** The pod's labels at admission; workload selectors and subsets match the proxy by them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly resources: V1ResourceRequirements;
  /** A native sidecar: a restartable init container, which also lets Jobs complete. */
  readonly native: boolean;
  readonly holdApplication: boolean;
  /** Whether the pod's HTTP probes were rewritten to the proxy's health port. */
  readonly appProbers: boolean;
}

/** The environment variable the proxy reads the application's original probes from. */
export const APP_PROBERS_ENV = 'WEFT_APP_PROBERS';

const fieldRef = (name: string, fieldPath: string): V1EnvVar => ({
  name,
  valueFrom: { fieldRef: { fieldPath } },
});

const readyProbe = (periodSeconds: number, failureThreshold: number): V1Probe => ({
  httpGet: { path: PROXY_READY_PATH, port: ports.proxyHealth, scheme: 'HTTP' },
  periodSeconds,
  timeoutSeconds: 3,
  failureThreshold,
});

/**
 * A postStart hook that returns once the proxy is ready (or fails after 10 minutes): the kubelet
 * starts a pod's containers in order and waits for each one's postStart, so a classic sidecar placed
 * first holds the application back. The image is Node-based, so `node` is there to poll with.
 */
const WAIT_FOR_READY = [
  'node',
  '-e',
  `const until = Date.now() + 600000;
const poll = () => fetch('http://127.0.0.1:${ports.proxyHealth}${PROXY_READY_PATH}')
  .then((r) => r.ok, () => false)
  .then((ok) => (ok ? process.exit(0) : Date.now() > until ? process.exit(1) : setTimeout(poll, 500)));
poll();`,
];

/**
 * The image's `proxy` entrypoint in the sidecar role. The pod's name, namespace and service account
 * and IP come from the downward API at start (a controller's pod has no name yet at admission); the
 * `$(VAR)` references in the arguments are expanded by the kubelet. The traffic listeners bind every
 * address because captured inbound connections arrive on the pod's own IP, which is also where the
 * proxy delivers them to the application (`--instance-ip`, as Istio's INSTANCE_IP).
 */
export function proxyArgs(input: ProxyContainerInput): string[] {
  const { settings } = input;
  const labels = Object.entries(input.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `--label=${k}=${v}`);
  return [
    'proxy',
    '--role=sidecar',
    `--control-plane=${settings.controlPlaneUrl}`,
    '--id=$(POD_NAME).$(POD_NAMESPACE)',
    '--namespace=$(POD_NAMESPACE)',
    `--workload=${input.workload}`,
    '--service-account=$(SERVICE_ACCOUNT)',
    ...labels,
    '--bind=0.0.0.0',
    '--instance-ip=$(INSTANCE_IP)',
    `--outbound-port=${ports.proxyOutbound}`,
    `--inbound-port=${ports.proxyInbound}`,
    `--admin-port=${ports.proxyAdmin}`,
    `--health-port=${ports.proxyHealth}`,
    `--metrics-port=${ports.proxyMetrics}`,
    `--root-cert=${proxyFiles.rootCert}`,
    `--token-file=${proxyFiles.token}`,
    ...(settings.accessLogs ? ['--access-log'] : []),
    `--log-level=${settings.proxy.logLevel}`,
  ];
}

/**
 * The proxy container. Held application: a native sidecar gets a startup probe (the kubelet starts
 * the next container only once it passes), a classic one a blocking postStart hook. It runs as the
 * UID the capture rules let through, with no capabilities and a read-only root filesystem. Pure.
 */
export function proxyContainer(input: ProxyContainerInput): V1Container {
  const env: V1EnvVar[] = [
    fieldRef('POD_NAME', 'metadata.name'),
    fieldRef('POD_NAMESPACE', 'metadata.namespace'),
    fieldRef('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldRef('INSTANCE_IP', 'status.podIP'),
    ...(input.appProbers
      ? [fieldRef(APP_PROBERS_ENV, `metadata.annotations['${annotations.appProbers}']`)]
      : []),
  ];
  const hold = input.holdApplication;
  return {
    name: PROXY_CONTAINER,
    image: input.settings.image,
    args: proxyArgs(input),
    env,
    ports: [{ name: 'http-weft-prom', containerPort: ports.proxyMetrics, protocol: 'TCP' }],
    resources: input.resources,
    readinessProbe: readyProbe(2, 30),
    ...(input.native && hold ? { startupProbe: readyProbe(1, 600) } : {}),
    ...(!input.native && hold ? { lifecycle: { postStart: { exec: { command: WAIT_FOR_READY } } } } : {}),
    ...(input.native ? { restartPolicy: 'Always' } : {}),
    volumeMounts: proxyVolumeMounts(),
    securityContext: {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}
