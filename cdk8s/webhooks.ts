import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { LabelSelector } from '../crds/generated/types/mesh.js';
import {
  CONTROL_PLANE_NAME,
  INJECTOR_WEBHOOK_NAME,
  labelKeys,
  meshLabels,
  VALIDATOR_WEBHOOK_NAME,
} from './names.js';
import { injectionNamespaceSelectors } from './injection-selectors.js';
import { TRAFFIC_RESOURCES } from './rbac.js';

export interface WebhooksProps {
  readonly meshName: string;
  readonly version: string;
  readonly meshNamespace: string;
  readonly injectionSelector: LabelSelector;
  readonly rootCertPem?: string;
  /** Local development: call this base URL instead of the control-plane Service. */
  readonly controlPlaneUrl?: string;
  readonly caBundleOwnedElsewhere?: ReadonlySet<string>;
}

/** Namespaces no webhook may ever touch: the system's, and the mesh's own (it must start without itself). */
function excludedNamespaces(meshNamespace: string): { key: string; operator: string; values: string[] } {
  return { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', meshNamespace] };
}

/**
 * The injection (mutating) and validation webhook configurations. Both fail closed, with
 * `sideEffects: None` and a 10 s timeout: a pod admitted without its proxy would silently escape
 * mTLS and policy, and an unvalidated resource could break every proxy's configuration.
 */
export class Webhooks extends Construct {
  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const labels = meshLabels(props.meshName, 'webhooks', props.version);
    const clientConfig = (name: string, path: string): kplus.k8s.WebhookClientConfig => {
      const caBundle =
        props.rootCertPem && !props.caBundleOwnedElsewhere?.has(name)
          ? Buffer.from(props.rootCertPem).toString('base64')
          : undefined;
      return props.controlPlaneUrl
        ? { url: `${props.controlPlaneUrl.replace(/\/$/, '')}${path}`, caBundle }
        : {
            service: { name: CONTROL_PLANE_NAME, namespace: props.meshNamespace, port: 443, path },
            caBundle,
          };
    };
    // One webhook per injection selector (the Mesh's, then the revision label's): a pod matched by
    // both is injected by the first and left alone by the second, injection being idempotent.
    const injectors = injectionNamespaceSelectors(props.injectionSelector).map((selector, i) => ({
      name: i === 0 ? 'sidecar-injector.weft.dev' : 'rev.sidecar-injector.weft.dev',
      namespaceSelector: {
        matchLabels: selector.matchLabels,
        matchExpressions: [...(selector.matchExpressions ?? []), excludedNamespaces(props.meshNamespace)],
      },
    }));

    new kplus.k8s.KubeMutatingWebhookConfiguration(this, 'injector', {
      metadata: { name: INJECTOR_WEBHOOK_NAME, labels },
      webhooks: injectors.map(({ name, namespaceSelector }) => ({
        name,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        reinvocationPolicy: 'Never',
        clientConfig: clientConfig(INJECTOR_WEBHOOK_NAME, '/inject'),
        rules: [
          {
            operations: ['CREATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['pods'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector,
        objectSelector: {
          matchExpressions: [{ key: labelKeys.injectOptOut, operator: 'NotIn', values: ['false'] }],
        },
      })),
    });

    new kplus.k8s.KubeValidatingWebhookConfiguration(this, 'validator', {
      metadata: { name: VALIDATOR_WEBHOOK_NAME, labels },
      webhooks: [
        {
          name: 'validation.weft.dev',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          timeoutSeconds: 10,
          clientConfig: clientConfig(VALIDATOR_WEBHOOK_NAME, '/validate'),
          rules: ['networking.weft.dev', 'security.weft.dev'].map((group) => ({
            operations: ['CREATE', 'UPDATE'],
            apiGroups: [group],
            apiVersions: ['v1'],
            resources: TRAFFIC_RESOURCES.filter(([g]) => g === group).map(([, resource]) => resource),
            scope: 'Namespaced',
          })),
          namespaceSelector: { matchExpressions: [excludedNamespaces(props.meshNamespace)] },
        },
      ],
    });
  }
}
