import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ControlPlane } from './control-plane.js';
import { Gateway } from './gateway.js';
import { meshLabels, ROOT_CERT_CONFIGMAP } from './names.js';
import type { MeshRenderInput } from './render-input.js';
import { Webhooks } from './webhooks.js';

/** Everything one Mesh is made of, as cdk8s constructs. */
export class MeshChart extends Chart {
  constructor(scope: Construct, id: string, input: MeshRenderInput) {
    super(scope, id, { disableResourceNameHashes: true });
    const { meshName, spec } = input;

    new kplus.Namespace(this, 'namespace', {
      metadata: { name: spec.namespace, labels: meshLabels(meshName, 'namespace', spec.version) },
    });
    new ControlPlane(this, 'control-plane', { meshName, spec });
    for (const gateway of spec.gateways ?? []) {
      new Gateway(this, `gateway-${gateway.name}`, {
        meshName,
        version: spec.version,
        meshNamespace: spec.namespace,
        gateway,
        proxyResources: spec.proxy.resources,
      });
    }
    new Webhooks(this, 'webhooks', {
      meshName,
      version: spec.version,
      meshNamespace: spec.namespace,
      injectionSelector: spec.injection.namespaceSelector ?? {},
      rootCertPem: input.rootCertPem,
      controlPlaneUrl: input.controlPlaneUrl,
      caBundleOwnedElsewhere: input.caBundleOwnedElsewhere,
    });
    if (input.rootCertPem) {
      // Proxies verify peers with the root: every namespace selected for injection, and every
      // gateway's, gets a copy.
      const gatewayNamespaces = (spec.gateways ?? []).map((g) => g.namespace ?? spec.namespace);
      for (const namespace of new Set([...input.injectedNamespaces, ...gatewayNamespaces])) {
        new kplus.ConfigMap(this, `root-cert-${namespace}`, {
          metadata: {
            name: ROOT_CERT_CONFIGMAP,
            namespace,
            labels: meshLabels(meshName, 'root-cert', spec.version),
          },
          data: { 'root-cert.pem': input.rootCertPem },
        });
      }
    }
  }
}

/** Renders a Mesh to the Kubernetes objects it consists of. Pure: the same input gives the same objects. */
export function renderMesh(input: MeshRenderInput): KubernetesObject[] {
  const app = new App();
  const chart = new MeshChart(app, 'mesh', input);
  return chart.toJson() as KubernetesObject[];
}
