import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { weftDir } from '../cluster/paths.js';
import { startWeftProcess, type RunningProcess } from '../helpers/process.js';

/**
 * The sample application's workloads and where they run. Without traffic capture, each "VM" gets a
 * loopback address of its own: its application listens there on 9080, and its proxy binds the
 * standard ports there (inbound 15006, outbound 15001, health 15021, metrics 15090; admin is
 * loopback-only, so it takes a free port). Each is registered as a WorkloadEntry, the path a VM
 * workload takes into the mesh.
 */

export const NAMESPACE = 'bookinfo';
export const APP_PORT = 9080;
export const GATEWAY_PORT = 8080;

export interface Workload {
  /** Workload name, also the proxy's id prefix. */
  readonly name: string;
  readonly app: string;
  readonly version: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly address: string;
  readonly role: 'sidecar' | 'gateway';
}

const sidecar = (app: string, version: string, address: string): Workload => ({
  name: `${app}-${version}`,
  app,
  version,
  namespace: NAMESPACE,
  serviceAccount: `bookinfo-${app}`,
  address,
  role: 'sidecar',
});

export const APPLICATION: readonly Workload[] = [
  sidecar('productpage', 'v1', '127.0.0.11'),
  sidecar('details', 'v1', '127.0.0.12'),
  sidecar('reviews', 'v1', '127.0.0.13'),
  sidecar('reviews', 'v2', '127.0.0.14'),
  sidecar('reviews', 'v3', '127.0.0.15'),
  sidecar('ratings', 'v1', '127.0.0.16'),
];

/** The Mesh's ingress gateway (crds/samples/mesh.yaml), run here as a local proxy process. */
export function ingressGateway(meshNamespace: string): Workload {
  return {
    name: 'weft-ingressgateway',
    app: 'weft-ingressgateway',
    version: 'v1',
    namespace: meshNamespace,
    serviceAccount: 'weft-ingressgateway',
    address: '127.0.0.10',
    role: 'gateway',
  };
}

export const proxyId = (w: Workload): string => `${w.name}.${w.namespace}`;

export interface ProxyPorts {
  readonly outbound: number;
  readonly inbound: number;
  readonly admin: number;
  readonly health: number;
  readonly metrics: number;
}

export interface RunningWorkload {
  readonly workload: Workload;
  readonly app?: RunningProcess;
  readonly proxy: RunningProcess;
  readonly ports: ProxyPorts;
}

/** Namespace, ServiceAccounts, Services and WorkloadEntries of the sample application. Pure. */
export function applicationManifests(): object[] {
  const apps = [...new Set(APPLICATION.map((w) => w.app))];
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    ...apps.map((app) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: `bookinfo-${app}`, namespace: NAMESPACE },
    })),
    ...apps.map((app) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: app, namespace: NAMESPACE, labels: { app } },
      spec: { selector: { app }, ports: [{ name: 'http', port: APP_PORT }] },
    })),
    ...APPLICATION.map((w) => ({
      apiVersion: 'networking.weft.dev/v1',
      kind: 'WorkloadEntry',
      metadata: { name: w.name, namespace: NAMESPACE },
      spec: {
        address: w.address,
        // The service port "http" is reached at the proxy's inbound port on that address.
        ports: { http: 15006 },
        labels: { app: w.app, version: w.version },
        serviceAccount: w.serviceAccount,
      },
    })),
  ];
}

export async function kubectlApply(objects: readonly object[]): Promise<void> {
  const res = await kubectlAsync(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
  if (res.status !== 0) throw new Error(`kubectl apply failed: ${res.stderr}`);
}

/** A ServiceAccount token for the CA (audience weft-ca), as a projected token volume would hold. */
async function tokenFile(w: Workload, dir: string): Promise<string> {
  const res = await kubectlAsync([
    'create',
    'token',
    w.serviceAccount,
    '-n',
    w.namespace,
    '--audience',
    'weft-ca',
    '--duration',
    '24h',
  ]);
  if (res.status !== 0) throw new Error(`a token for ${w.namespace}/${w.serviceAccount}: ${res.stderr}`);
  const file = join(dir, `${w.name}.token`);
  writeFileSync(file, res.stdout.trim(), { mode: 0o600 });
  return file;
}

export interface StartOptions {
  readonly controlPlane: string;
  readonly rootCertPem: string;
}

async function startProxy(w: Workload, dir: string, options: StartOptions): Promise<RunningWorkload> {
  const proxy = await startWeftProcess(
    'proxy/main.ts',
    [
      `--control-plane=${options.controlPlane}`,
      `--root-cert=${join(dir, 'root-cert.pem')}`,
      `--token-file=${await tokenFile(w, dir)}`,
      `--role=${w.role}`,
      `--namespace=${w.namespace}`,
      `--workload=${w.name}`,
      `--service-account=${w.serviceAccount}`,
      `--label=app=${w.app}`,
      `--label=version=${w.version}`,
      `--bind=${w.address}`,
      '--admin-port=0',
    ],
    '"weft-proxy started"',
  );
  const line = proxy
    .logs()
    .split('\n')
    .find((l) => l.includes('"weft-proxy started"'))!;
  return { workload: w, proxy, ports: (JSON.parse(line) as { ports: ProxyPorts }).ports };
}

function startApp(w: Workload): Promise<RunningProcess> {
  return startWeftProcess(
    'test/demo/bookinfo/app.ts',
    [
      `--service=${w.app}`,
      `--version=${w.version}`,
      `--listen=${w.address}:${APP_PORT}`,
      `--outbound=${w.address}:15001`,
    ],
    '"bookinfo app listening"',
  );
}

/** Starts every application with its proxy, and the gateway proxy; each proxy gets its identity from the CA. */
export async function startWorkloads(
  workloads: readonly Workload[],
  options: StartOptions,
): Promise<RunningWorkload[]> {
  const dir = join(weftDir, 'demo');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'root-cert.pem'), options.rootCertPem);
  const started = await Promise.allSettled(
    workloads.flatMap((w) => [
      startProxy(w, dir, options),
      w.role === 'sidecar' ? startApp(w) : Promise.resolve(undefined),
    ]),
  );
  const failure = started.find((s) => s.status === 'rejected');
  if (failure) {
    // Whatever did start must not outlive the failure, or the next run finds its addresses taken.
    const up = started.flatMap((s) => (s.status === 'fulfilled' && s.value ? [s.value] : []));
    await Promise.all(up.map((p) => ('proxy' in p ? p.proxy.stop() : p.stop())));
    throw failure.reason;
  }
  const value = (i: number): RunningWorkload | RunningProcess | undefined =>
    (started[i] as PromiseFulfilledResult<RunningWorkload | RunningProcess | undefined>).value;
  return workloads.map((_, i) => {
    const app = value(2 * i + 1) as RunningProcess | undefined;
    return { ...(value(2 * i) as RunningWorkload), ...(app ? { app } : {}) };
  });
}

export async function stopWorkloads(running: readonly RunningWorkload[]): Promise<void> {
  await Promise.all(running.flatMap((r) => (r.app ? [r.proxy.stop(), r.app.stop()] : [r.proxy.stop()])));
}
