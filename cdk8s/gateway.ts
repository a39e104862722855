import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { GatewaySpec, ResourceRequirements } from '../crds/generated/types/mesh.js';
import { containerResources } from './resources.js';
import { proxyFiles, proxyVolumeMounts, proxyVolumes } from '../webhooks/injection/volumes.js';
import { CONTROL_PLANE_NAME, imageFor, labelKeys, meshLabels, ports } from './names.js';

export interface GatewayProps {
  readonly meshName: string;
  readonly version: string;
  readonly meshNamespace: string;
  readonly gateway: GatewaySpec;
  readonly proxyResources?: ResourceRequirements;
}

const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '512Mi' } };

/**
 * A gateway managed by the Mesh: Weft proxies in the gateway role, their ServiceAccount (the gateway's
 * workload identity) and the Service that exposes them. Gateway resources select it by its labels.
 */
export class Gateway extends Construct {
  constructor(scope: Construct, id: string, props: GatewayProps) {
    super(scope, id);
    const { gateway, meshName, version } = props;
    const namespace = gateway.namespace ?? props.meshNamespace;
    const labels = { ...meshLabels(meshName, 'gateway', version), [labelKeys.gateway]: gateway.name };
    const metadata = { name: gateway.name, namespace, labels };
    const servicePorts = gateway.service?.ports ?? [];

    const serviceAccount = new kplus.ServiceAccount(this, 'service-account', {
      metadata,
      automountToken: true,
    });
    const deployment = new kplus.Deployment(this, 'deployment', {
      metadata,
      replicas: gateway.replicas ?? 1,
      serviceAccount,
      automountServiceAccountToken: true,
      // A gateway pod is a Weft proxy already: in a namespace selected for injection it must not get
      // a sidecar, so it opts out as any pod would.
      podMetadata: { labels: { ...labels, app: gateway.name, [labelKeys.injectOptOut]: 'false' } },
      select: false,
      containers: [
        {
          name: 'weft-proxy',
          image: imageFor(version),
          // A tagged release never changes; pulling only when absent also lets kind use a loaded image.
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          args: [
            'proxy',
            '--role=gateway',
            `--control-plane=https://${CONTROL_PLANE_NAME}.${props.meshNamespace}.svc:${ports.pushMtls}`,
            `--root-cert=${proxyFiles.rootCert}`,
            `--token-file=${proxyFiles.token}`,
            '--namespace=$(POD_NAMESPACE)',
            `--workload=${gateway.name}`,
            `--service-account=${gateway.name}`,
            `--label=app=${gateway.name}`,
            '--bind=0.0.0.0',
            '--instance-ip=$(POD_IP)',
          ],
          ports: [
            ...servicePorts.map((p) => ({ number: p.targetPort ?? p.port, name: p.name })),
            { number: ports.proxyHealth, name: 'http-health' },
            { number: ports.proxyMetrics, name: 'http-metrics' },
          ],
          envVariables: {
            POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
            POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
            SERVICE_ACCOUNT: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.SERVICE_ACCOUNT_NAME),
            POD_IP: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP),
          },
          readiness: kplus.Probe.fromHttpGet('/healthz/ready', { port: ports.proxyHealth }),
          securityContext: { ensureNonRoot: true, user: 1337, group: 1337, readOnlyRootFilesystem: true },
        },
      ],
    });
    deployment.select(
      kplus.LabelSelector.of({ labels: { app: gateway.name, [labelKeys.gateway]: gateway.name } }),
    );
    ApiObject.of(deployment).addJsonPatch(
      JsonPatch.replace(
        '/spec/template/spec/containers/0/resources',
        containerResources(props.proxyResources ?? DEFAULT_RESOURCES),
      ),
      // Its identity, as an injected sidecar's: a token for the CA's audience and the mesh root.
      JsonPatch.add('/spec/template/spec/volumes', proxyVolumes()),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts', proxyVolumeMounts()),
    );

    const service = new kplus.Service(this, 'service', {
      metadata,
      type: (gateway.service?.type ?? 'LoadBalancer') as kplus.ServiceType,
      ports: servicePorts.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort ?? p.port,
        nodePort: p.nodePort,
      })),
    });
    service.selectLabel('app', gateway.name);
    service.selectLabel(labelKeys.gateway, gateway.name);
  }
}
