import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { DefaultedMeshSpec } from '../crds/defaults.js';
import {
  labelKeys,
  CA_SECRET_NAME,
  REGISTRATION_SECRET_NAME,
  CONTROL_PLANE_NAME,
  imageFor,
  INJECTOR_WEBHOOK_NAME,
  meshLabels,
  ports,
  VALIDATOR_WEBHOOK_NAME,
} from './names.js';
import { apiResource, TRAFFIC_RESOURCES } from './rbac.js';
import { containerResources } from './resources.js';

export interface ControlPlaneProps {
  readonly meshName: string;
  readonly spec: DefaultedMeshSpec;
}

const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } };

/**
 * weft-control-plane: its ServiceAccount and least-privilege RBAC, Deployment, Service and
 * PodDisruptionBudget. RBAC names every verb and resource; nothing is a wildcard.
 */
export class ControlPlane extends Construct {
  constructor(scope: Construct, id: string, props: ControlPlaneProps) {
    super(scope, id);
    const { meshName, spec } = props;
    const namespace = spec.namespace;
    const labels = meshLabels(meshName, 'control-plane', spec.version);
    const metadata = { name: CONTROL_PLANE_NAME, namespace, labels };

    const serviceAccount = new kplus.ServiceAccount(this, 'service-account', {
      metadata,
      automountToken: true,
    });
    this.grantClusterAccess(meshName, labels, serviceAccount);
    this.grantNamespaceAccess(metadata, serviceAccount);
    const gatewayNamespaces = new Set((spec.gateways ?? []).map((g) => g.namespace ?? namespace));
    for (const gatewayNamespace of [...gatewayNamespaces].sort())
      this.grantGatewayCredentialAccess(gatewayNamespace, labels, serviceAccount);

    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata,
      replicas: spec.controlPlane.replicas,
      serviceAccount,
      automountServiceAccountToken: true,
      podMetadata: { labels: { ...labels, app: CONTROL_PLANE_NAME } },
      select: false,
      progressDeadline: Duration.minutes(10),
      containers: [
        {
          name: 'control-plane',
          image: imageFor(spec.version, spec.controlPlane.image),
          // A tagged release never changes; pulling only when absent also lets kind use a loaded image.
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          // In a pod the servers listen on every address (the defaults are loopback, for local
          // development); the control plane follows the one active Mesh (ADR 0003), so no --mesh.
          args: [
            'control-plane',
            `--push-address=0.0.0.0:${ports.pushMtls}`,
            `--monitoring-address=0.0.0.0:${ports.monitoring}`,
            `--webhook-address=0.0.0.0:${ports.webhook}`,
          ],
          ports: [
            { number: ports.pushPlaintext, name: 'grpc-push' },
            { number: ports.pushMtls, name: 'grpc-push-tls' },
            { number: ports.monitoring, name: 'http-monitoring' },
            { number: ports.webhook, name: 'https-webhook' },
          ],
          envVariables: {
            POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
            POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
          },
          readiness: kplus.Probe.fromHttpGet('/readyz', { port: ports.monitoring }),
          liveness: kplus.Probe.fromHttpGet('/healthz', { port: ports.monitoring }),
          securityContext: { ensureNonRoot: true, user: 1337, group: 1337, readOnlyRootFilesystem: true },
        },
      ],
    });
    deployment.select(
      kplus.LabelSelector.of({ labels: { app: CONTROL_PLANE_NAME, [labelKeys.mesh]: meshName } }),
    );
    // Quantities, node selectors and tolerations pass through verbatim: the Mesh speaks the
    // Kubernetes API's own shapes, which cdk8s-plus would otherwise make us parse and rebuild.
    const podSpec = '/spec/template/spec';
    const raw = ApiObject.of(deployment);
    raw.addJsonPatch(
      JsonPatch.replace(
        `${podSpec}/containers/0/resources`,
        containerResources(spec.controlPlane.resources ?? DEFAULT_RESOURCES),
      ),
    );
    if (spec.controlPlane.nodeSelector)
      raw.addJsonPatch(JsonPatch.add(`${podSpec}/nodeSelector`, spec.controlPlane.nodeSelector));
    if (spec.controlPlane.tolerations)
      raw.addJsonPatch(JsonPatch.add(`${podSpec}/tolerations`, spec.controlPlane.tolerations));

    const service = new kplus.Service(this, 'service', {
      metadata,
      ports: [
        { port: ports.pushPlaintext, targetPort: ports.pushPlaintext, name: 'grpc-push' },
        { port: ports.pushMtls, targetPort: ports.pushMtls, name: 'grpc-push-tls' },
        { port: ports.monitoring, targetPort: ports.monitoring, name: 'http-monitoring' },
        { port: 443, targetPort: ports.webhook, name: 'https-webhook' },
      ],
    });

    service.selectLabel('app', CONTROL_PLANE_NAME);
    service.selectLabel(labelKeys.mesh, meshName);

    new kplus.k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata,
      spec: {
        // maxUnavailable rather than minAvailable: a single replica must not block node drains.
        maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: { app: CONTROL_PLANE_NAME, [labelKeys.mesh]: meshName } },
      },
    });
  }

  private grantClusterAccess(
    meshName: string,
    labels: Record<string, string>,
    sa: kplus.ServiceAccount,
  ): void {
    const role = new kplus.ClusterRole(this, 'cluster-role', {
      metadata: { name: `${CONTROL_PLANE_NAME}-${meshName}`, labels },
    });
    const read = ['get', 'list', 'watch'];
    role.allow(
      read,
      apiResource('', 'services'),
      apiResource('', 'pods'),
      apiResource('', 'namespaces'),
      apiResource('', 'serviceaccounts'),
      apiResource('discovery.k8s.io', 'endpointslices'),
      apiResource('mesh.weft.dev', 'meshes'),
    );
    for (const [group, resource] of TRAFFIC_RESOURCES) {
      role.allow(read, apiResource(group, resource));
      role.allow(['get', 'patch', 'update'], apiResource(group, `${resource}/status`));
    }
    // Identity: the CA authenticates proxies by their ServiceAccount token.
    role.allow(['create'], apiResource('authentication.k8s.io', 'tokenreviews'));
    role.allow(['create', 'patch'], apiResource('events.k8s.io', 'events'));
    // Webhook caBundle rotation, on the two configurations of this mesh only.
    role.allow(
      ['get', 'patch'],
      apiResource('admissionregistration.k8s.io', 'mutatingwebhookconfigurations', INJECTOR_WEBHOOK_NAME),
      apiResource('admissionregistration.k8s.io', 'validatingwebhookconfigurations', VALIDATOR_WEBHOOK_NAME),
    );
    new kplus.ClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: { name: `${CONTROL_PLANE_NAME}-${meshName}`, labels },
      role,
    }).addSubjects(sa);
  }

  /**
   * Gateway credentials (tls.credentialName) live in the gateway's own namespace, named by users: the
   * control plane may `get` Secrets there, and only there, by name; never list or watch them
   * (docs/adr/0011-gateway-credentials-by-get.md).
   */
  private grantGatewayCredentialAccess(
    namespace: string,
    labels: Record<string, string>,
    sa: kplus.ServiceAccount,
  ): void {
    const metadata = { name: `${CONTROL_PLANE_NAME}-gateway-credentials`, namespace, labels };
    const role = new kplus.Role(this, `gateway-credentials-${namespace}`, { metadata });
    role.allow(['get'], { apiGroup: '', resourceType: 'secrets' });
    new kplus.RoleBinding(this, `gateway-credentials-binding-${namespace}`, { metadata, role }).addSubjects(
      sa,
    );
  }

  private grantNamespaceAccess(
    metadata: { name: string; namespace: string; labels: Record<string, string> },
    sa: kplus.ServiceAccount,
  ): void {
    const role = new kplus.Role(this, 'role', { metadata });
    // Signing needs the CA key, and VMs' registration tokens: one Secret each, in the mesh namespace.
    for (const secret of [CA_SECRET_NAME, REGISTRATION_SECRET_NAME])
      role.allow(['get', 'watch', 'list'], { apiGroup: '', resourceType: 'secrets', resourceName: secret });
    role.allow(['get', 'create', 'update'], { apiGroup: 'coordination.k8s.io', resourceType: 'leases' });
    new kplus.RoleBinding(this, 'role-binding', { metadata, role }).addSubjects(sa);
  }
}
