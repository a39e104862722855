import { connect } from 'node:tls';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  VersionApi,
  type KubeConfig,
  type V1Deployment,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { INJECTOR_WEBHOOK_NAME, VALIDATOR_WEBHOOK_NAME } from '../../cdk8s/names.js';
import { OPERATOR_NAME } from '../../cdk8s/operator-install.js';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { getDebug } from '../control-plane-client.js';
import { parseProxyStatus } from '../commands/proxy-status.js';
import { installObjects } from '../install/objects.js';
import { apiMessage, statusCodeOf } from '../kube/errors.js';
import { crdEstablished, deploymentReadiness } from '../kube/readiness.js';
import { weftVersion } from '../package-info.js';
import { certificateFact } from './certificates.js';
import { activeMesh } from './evaluate-mesh.js';
import type {
  AccessFact,
  ClusterFacts,
  CrdFact,
  DryRunFact,
  Fetched,
  LeaseFact,
  MeshFacts,
  OperatorDeploymentFact,
  PodFact,
  PostFacts,
  PreFacts,
  ServingCertificateFact,
  WebhookConfigurationFact,
} from './facts.js';

/** How long the first request may take: a server that never answers must not hang the check. */
const REACH_TIMEOUT_MS = 10_000;
/** The namespace the webhook dry run targets: in every cluster, and selected by the validating webhook. */
const DRY_RUN_NAMESPACE = 'default';

async function fetched<T>(request: Promise<T>): Promise<Fetched<T>> {
  try {
    return { ok: true, value: await request };
  } catch (err) {
    return { ok: false, status: statusCodeOf(err), message: apiMessage(err) };
  }
}

/** Undefined for a 404, so "absent" is a value rather than a failure. */
async function orAbsent<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (err) {
    if (statusCodeOf(err) === 404) return undefined;
    throw err;
  }
}

function withTimeout<T>(request: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000}s`)), ms);
  });
  return Promise.race([request, timeout]).finally(() => clearTimeout(timer));
}

async function gatherCluster(kc: KubeConfig, namespace: string | undefined): Promise<ClusterFacts> {
  const objects = installObjects({ version: weftVersion(), namespace });
  const server = kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
  const kubernetes = await fetched(
    withTimeout(kc.makeApiClient(VersionApi).getCode(), REACH_TIMEOUT_MS).then((v) => v.gitVersion),
  );
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = kubernetes.ok
    ? await fetched(
        Promise.all(
          objects.crds.map(async (crd): Promise<CrdFact> => {
            const name = crd.metadata!.name!;
            const live = await orAbsent(api.readCustomResourceDefinition({ name }));
            return {
              name,
              present: !!live,
              labels: live?.metadata?.labels ?? {},
              established: crdEstablished(live),
            };
          }),
        ),
      )
    : ({ ok: false, message: 'not read: the API server did not answer' } as const);
  return { server, weftctlVersion: weftVersion(), kubernetes, crds, operatorNamespace: objects.namespace };
}

/** What an install creates, asked of the API server for the current user. */
function accessToAsk(namespace: string): Omit<AccessFact, 'allowed'>[] {
  return [
    { verb: 'create', resource: 'apiextensions.k8s.io/customresourcedefinitions' },
    { verb: 'create', resource: 'rbac.authorization.k8s.io/clusterroles' },
    { verb: 'create', resource: 'rbac.authorization.k8s.io/clusterrolebindings' },
    { verb: 'create', resource: 'namespaces' },
    { verb: 'create', resource: 'serviceaccounts', namespace },
    { verb: 'create', resource: 'apps/deployments', namespace },
  ];
}

export async function gatherPre(kc: KubeConfig, namespace: string | undefined): Promise<PreFacts> {
  const cluster = await gatherCluster(kc, namespace);
  if (!cluster.kubernetes.ok) return { ...cluster, access: [] };
  const authorization = kc.makeApiClient(AuthorizationV1Api);
  const access = await Promise.all(
    accessToAsk(cluster.operatorNamespace).map(async (a): Promise<AccessFact> => {
      const [group, resource] = a.resource.includes('/') ? a.resource.split('/') : ['', a.resource];
      try {
        const review = await authorization.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { verb: a.verb, group, resource, namespace: a.namespace } } },
        });
        return { ...a, allowed: !!review.status?.allowed, reason: review.status?.reason || undefined };
      } catch (err) {
        return { ...a, allowed: false, reason: `the access review failed: ${apiMessage(err)}` };
      }
    }),
  );
  return { ...cluster, access };
}

/** Whether each node is a kwok node (annotation kwok.x-k8s.io/node), looked up once per node. */
async function simulatedNodes(core: CoreV1Api, names: readonly string[]): Promise<Set<string>> {
  const simulated = new Set<string>();
  for (const name of new Set(names)) {
    const node = await core.readNode({ name }).catch(() => undefined);
    if (node?.metadata?.annotations?.['kwok.x-k8s.io/node'] !== undefined) simulated.add(name);
  }
  return simulated;
}

async function operatorFact(core: CoreV1Api, d: V1Deployment): Promise<OperatorDeploymentFact> {
  const namespace = d.metadata!.namespace!;
  const selector = Object.entries(d.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  const kwok = await simulatedNodes(
    core,
    pods.map((p) => p.spec?.nodeName).filter((n): n is string => !!n),
  );
  return {
    namespace,
    name: d.metadata!.name!,
    version: d.metadata?.labels?.['app.kubernetes.io/version'],
    image: d.spec?.template.spec?.containers[0]?.image,
    readiness: deploymentReadiness(d),
    pods: pods.map((p): PodFact => ({
      name: p.metadata!.name!,
      simulated: kwok.has(p.spec?.nodeName ?? ''),
    })),
  };
}

/** A VirtualService the CRD schema admits and the validating webhook refuses: weights adding to 110. */
export const INVALID_VIRTUAL_SERVICE = {
  apiVersion: 'networking.weft.dev/v1',
  kind: 'VirtualService',
  metadata: { name: 'weftctl-check-invalid', namespace: DRY_RUN_NAMESPACE },
  spec: {
    hosts: ['weftctl-check.invalid'],
    http: [
      {
        route: [
          { destination: { host: 'weftctl-check.invalid' }, weight: 90 },
          { destination: { host: 'weftctl-check.invalid' }, weight: 20 },
        ],
      },
    ],
  },
};

async function dryRun(kc: KubeConfig): Promise<DryRunFact> {
  try {
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'networking.weft.dev',
      version: 'v1',
      namespace: DRY_RUN_NAMESPACE,
      plural: 'virtualservices',
      body: INVALID_VIRTUAL_SERVICE,
      dryRun: 'All',
    });
    return { outcome: 'accepted' };
  } catch (err) {
    const message = apiMessage(err);
    if (/admission webhook "[^"]+" denied the request/.test(message)) return { outcome: 'rejected', message };
    return { outcome: 'failed', status: statusCodeOf(err), message };
  }
}

function configurationFact(
  config: V1ValidatingWebhookConfiguration | V1MutatingWebhookConfiguration | undefined,
): WebhookConfigurationFact | undefined {
  if (!config) return undefined;
  return {
    name: config.metadata!.name!,
    webhooks: (config.webhooks ?? []).map((w) => ({
      name: w.name,
      url: w.clientConfig.url,
      service: w.clientConfig.service && `${w.clientConfig.service.namespace}/${w.clientConfig.service.name}`,
      caBundle: w.clientConfig.caBundle && Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8'),
    })),
  };
}

/** Connects to a URL webhook and reads its serving certificate, verifying it against the caBundle. */
function servingCertificate(url: string, caBundle: string | undefined): Promise<ServingCertificateFact> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({
      host: target.hostname,
      port: Number(target.port || 443),
      servername: /^[\d.]+$/.test(target.hostname) ? undefined : target.hostname,
      ca: caBundle,
      rejectUnauthorized: false,
      timeout: 5_000,
    });
    const done = (fact: ServingCertificateFact): void => {
      socket.destroy();
      resolve(fact);
    };
    socket.once('secureConnect', () => {
      const cert = certificateFact(socket.getPeerX509Certificate()?.toString() ?? '');
      if (!cert) return done({ seen: false, reason: `${url} presented no certificate` });
      const trustError = socket.authorizationError ? String(socket.authorizationError) : undefined;
      done({ seen: true, url: target.origin, certificate: cert, trusted: socket.authorized, trustError });
    });
    socket.once('timeout', () => done({ seen: false, reason: `${target.origin} did not answer within 5s` }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done({ seen: false, reason: `cannot connect to ${target.origin} (${err.code ?? err.message})` }),
    );
  });
}

async function gatherMesh(kc: KubeConfig, mesh: Mesh): Promise<MeshFacts> {
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const webhooks = await fetched(
    Promise.all([
      orAbsent(admission.readValidatingWebhookConfiguration({ name: VALIDATOR_WEBHOOK_NAME })),
      orAbsent(admission.readMutatingWebhookConfiguration({ name: INJECTOR_WEBHOOK_NAME })),
    ]).then(([v, m]) => ({ validating: configurationFact(v), mutating: configurationFact(m) })),
  );
  const secretRef = mesh.status?.certificateAuthority?.secretName;
  const [secretNamespace, secretName] = secretRef?.split('/') ?? [];
  const root: Fetched<MeshFacts['root'] extends Fetched<infer C> ? C : never> =
    secretNamespace && secretName
      ? await fetched(
          kc
            .makeApiClient(CoreV1Api)
            .readNamespacedSecret({ name: secretName, namespace: secretNamespace })
            .then((s) => {
              const pem = Buffer.from(s.data?.['root-cert.pem'] ?? '', 'base64').toString('utf8');
              const fact = certificateFact(pem);
              if (!fact) throw new Error(`Secret ${secretRef} holds no root-cert.pem certificate`);
              return fact;
            }),
        )
      : { ok: false, message: 'the Mesh status names no CA Secret yet' };
  const validator = webhooks.ok ? webhooks.value.validating?.webhooks[0] : undefined;
  const serving: ServingCertificateFact = validator?.url
    ? await servingCertificate(validator.url, validator.caBundle)
    : {
        seen: false,
        reason: validator?.service
          ? `the webhook is the Service ${validator.service}`
          : 'no validating webhook',
      };
  return { webhooks, dryRun: await dryRun(kc), root, serving };
}

async function proxies(controlPlane: string): Promise<PostFacts['proxies']> {
  try {
    const { body } = await getDebug(controlPlane, 'debug/proxy-status');
    return { ok: true, value: parseProxyStatus(body, `${controlPlane}/debug/proxy-status`) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

export async function gatherPost(
  kc: KubeConfig,
  namespace: string | undefined,
  controlPlane: string,
): Promise<PostFacts> {
  const cluster = await gatherCluster(kc, namespace);
  const notAsked = { ok: false, message: 'not asked: the API server did not answer' } as const;
  if (!cluster.kubernetes.ok)
    return {
      ...cluster,
      now: new Date().toISOString(),
      operators: notAsked,
      lease: notAsked,
      meshes: notAsked,
      controlPlane,
      proxies: notAsked,
    };
  const core = kc.makeApiClient(CoreV1Api);
  const operators = await fetched(
    kc
      .makeApiClient(AppsV1Api)
      .listDeploymentForAllNamespaces({ labelSelector: `app.kubernetes.io/name=${OPERATOR_NAME}` })
      .then((list) => Promise.all(list.items.map((d) => operatorFact(core, d)))),
  );
  const lease = await fetched(
    orAbsent(
      kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: OPERATOR_NAME, namespace: cluster.operatorNamespace }),
    ).then(
      (l): LeaseFact | undefined =>
        l && {
          holder: l.spec?.holderIdentity,
          renewTime: l.spec?.renewTime ? new Date(l.spec.renewTime).toISOString() : undefined,
          durationSeconds: l.spec?.leaseDurationSeconds,
        },
    ),
  );
  const meshes = await fetched(
    kc
      .makeApiClient(CustomObjectsApi)
      .listClusterCustomObject({ group: 'mesh.weft.dev', version: 'v1alpha1', plural: 'meshes' })
      .then((list) => (list as { items: Mesh[] }).items),
  );
  const active = meshes.ok ? activeMesh(meshes.value) : undefined;
  return {
    ...cluster,
    now: new Date().toISOString(),
    operators,
    lease,
    meshes,
    mesh: active && (await gatherMesh(kc, active)),
    controlPlane,
    proxies: await proxies(controlPlane),
  };
}
