import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { imageFor, labelKeys } from './names.js';
import { operatorRules } from './operator-rbac.js';
import { apiResource } from './rbac.js';

export const OPERATOR_NAME = 'weft-operator';
/**
 * The operator lives apart from the Mesh's install namespace (weft-system by default): the operator
 * deletes that namespace with the Mesh, and must not delete itself with it.
 */
export const OPERATOR_NAMESPACE = 'weft-operator';
export const operatorPorts = { metrics: 8080, probes: 8081 } as const;

export interface OperatorInstallProps {
  /** The Weft release; the image tag and the version label. */
  readonly version: string;
  /** Where the operator runs; default weft-operator. */
  readonly namespace?: string;
  /** The image, when not the release's own (e.g. one loaded into kind). */
  readonly image?: string;
  /** Emit the Namespace too; an OLM bundle leaves it to OLM. Default true. */
  readonly includeNamespace?: boolean;
}

/**
 * weft-operator's own install: its ServiceAccount, least-privilege ClusterRole and binding, and the
 * Deployment running the image's `operator` entrypoint. The same construct feeds `weftctl manifest
 * generate` and the OLM bundle.
 */
export class OperatorInstall extends Construct {
  constructor(scope: Construct, id: string, props: OperatorInstallProps) {
    super(scope, id);
    const namespace = props.namespace ?? OPERATOR_NAMESPACE;
    const labels = {
      [labelKeys.name]: OPERATOR_NAME,
      [labelKeys.partOf]: 'weft',
      [labelKeys.component]: 'operator',
      [labelKeys.version]: props.version,
    };
    if (props.includeNamespace ?? true)
      new kplus.Namespace(this, 'namespace', { metadata: { name: namespace, labels } });
    const metadata = { name: OPERATOR_NAME, namespace, labels };

    const serviceAccount = new kplus.ServiceAccount(this, 'service-account', {
      metadata,
      automountToken: true,
    });
    const role = new kplus.ClusterRole(this, 'cluster-role', { metadata: { name: OPERATOR_NAME, labels } });
    for (const rule of operatorRules()) {
      role.allow([...rule.verbs], apiResource(rule.apiGroup, rule.resource, rule.resourceName));
    }
    new kplus.ClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: { name: OPERATOR_NAME, labels },
      role,
    }).addSubjects(serviceAccount);

    this.deployment(metadata, serviceAccount, imageFor(props.version, props.image));
  }

  private deployment(
    metadata: { name: string; namespace: string; labels: Record<string, string> },
    serviceAccount: kplus.ServiceAccount,
    image: string,
  ): void {
    const selector = { [labelKeys.name]: OPERATOR_NAME };
    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata,
      // One active replica holds the Lease; a second would only wait for it.
      replicas: 1,
      serviceAccount,
      automountServiceAccountToken: true,
      podMetadata: { labels: metadata.labels },
      select: false,
      securityContext: { ensureNonRoot: true, user: 1337, group: 1337 },
      containers: [
        {
          name: 'operator',
          image,
          // A tagged release never changes; pulling only when absent also lets kind use a loaded image.
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          args: [
            'operator',
            `--metrics-bind-address=:${operatorPorts.metrics}`,
            `--health-probe-bind-address=:${operatorPorts.probes}`,
          ],
          ports: [
            { number: operatorPorts.metrics, name: 'http-metrics' },
            { number: operatorPorts.probes, name: 'http-probes' },
          ],
          // The leader-election Lease goes in the operator's own namespace.
          envVariables: {
            POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
          },
          liveness: kplus.Probe.fromHttpGet('/healthz', { port: operatorPorts.probes }),
          readiness: kplus.Probe.fromHttpGet('/readyz', { port: operatorPorts.probes }),
          resources: {
            cpu: { request: kplus.Cpu.millis(100) },
            memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
          },
          securityContext: {
            ensureNonRoot: true,
            user: 1337,
            group: 1337,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: [kplus.Capability.ALL] },
            seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
          },
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels: selector }));
  }
}

/** The operator's install objects. Pure: the same props give the same objects. */
export function renderOperatorInstall(props: OperatorInstallProps): KubernetesObject[] {
  const app = new App();
  const chart = new Chart(app, 'weft-operator', { disableResourceNameHashes: true });
  new OperatorInstall(chart, 'install', props);
  return chart.toJson() as KubernetesObject[];
}
