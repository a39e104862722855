/**
 * The CSV's spec and status descriptors: how the OpenShift console and OperatorHub show a Weft
 * resource's fields (a pod count, a namespace link, a select box, conditions). Paths are relative to
 * `.spec` / `.status`; the unit test checks each one exists in its CRD's schema. x-descriptor URNs
 * are OLM's standard ones (operator-framework/api, docs/design/building-your-csv.md).
 */

export interface Descriptor {
  readonly path: string;
  readonly displayName: string;
  readonly description: string;
  readonly 'x-descriptors': readonly string[];
}

export interface CrdDescriptors {
  readonly displayName: string;
  readonly specDescriptors: readonly Descriptor[];
  readonly statusDescriptors: readonly Descriptor[];
  /** The kinds the operator creates for one resource of this kind, for the console's Resources tab. */
  readonly resources?: readonly { readonly kind: string; readonly name: string; readonly version: string }[];
}

const ui = 'urn:alm:descriptor:com.tectonic.ui';
const urn = {
  text: `${ui}:text`,
  number: `${ui}:number`,
  podCount: `${ui}:podCount`,
  resources: `${ui}:resourceRequirements`,
  booleanSwitch: `${ui}:booleanSwitch`,
  advanced: `${ui}:advanced`,
  select: (value: string): string => `${ui}:select:${value}`,
  namespaceSelector: `${ui}:selector:core:v1:Namespace`,
  namespace: 'urn:alm:descriptor:io.kubernetes:Namespace',
  secret: 'urn:alm:descriptor:io.kubernetes:Secret',
  conditions: 'urn:alm:descriptor:io.kubernetes.conditions',
  phase: 'urn:alm:descriptor:io.kubernetes.phase',
  timestamp: 'urn:alm:descriptor:timestamp',
  statusText: 'urn:alm:descriptor:text',
} as const;

const d = (path: string, displayName: string, description: string, ...xs: string[]): Descriptor => ({
  path,
  displayName,
  description,
  'x-descriptors': xs,
});

/** Every Weft traffic and security resource has the same status, written by the control plane. */
const resourceStatus: readonly Descriptor[] = [
  d(
    'conditions',
    'Conditions',
    'Whether the control plane accepted the resource and pushed it to the proxies.',
    urn.conditions,
  ),
  d(
    'observedGeneration',
    'Observed Generation',
    'The metadata.generation the control plane last processed.',
    urn.statusText,
  ),
];

const meshDescriptors: CrdDescriptors = {
  displayName: 'Mesh',
  specDescriptors: [
    d('version', 'Version', 'The Weft release of the control plane and proxy images.', urn.text),
    d(
      'namespace',
      'Install Namespace',
      'The namespace of the control plane and the default one of gateways. Immutable.',
      urn.namespace,
    ),
    d(
      'updateStrategy.type',
      'Update Strategy',
      'InPlace upgrades the control plane and gateways in place.',
      urn.select('InPlace'),
    ),
    d(
      'controlPlane.replicas',
      'Control Plane Replicas',
      'Replicas of the control plane Deployment.',
      urn.podCount,
    ),
    d(
      'controlPlane.resources',
      'Control Plane Resources',
      'CPU and memory requests and limits of the control plane.',
      urn.resources,
      urn.advanced,
    ),
    d(
      'controlPlane.image',
      'Control Plane Image',
      'Overrides the control-plane image (default: ghcr.io/weft-dev/weft:v<version>).',
      urn.text,
      urn.advanced,
    ),
    d(
      'security.mtls.mode',
      'Mutual TLS Mode',
      'The mesh-wide default: STRICT refuses plaintext between workloads, PERMISSIVE accepts both.',
      urn.select('STRICT'),
      urn.select('PERMISSIVE'),
    ),
    d(
      'security.trustDomain',
      'Trust Domain',
      'The SPIFFE trust domain of workload identities: spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>.',
      urn.text,
    ),
    d(
      'security.workloadCertTTL',
      'Workload Certificate Lifetime',
      'Lifetime of workload certificates, for example 24h; proxies renew at half-life.',
      urn.text,
    ),
    d(
      'security.certificateAuthority.existingSecret.name',
      'Plug-in CA Secret',
      'A Secret in the install namespace with ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem, instead of a self-signed root.',
      urn.secret,
      urn.advanced,
    ),
    d(
      'injection.namespaceSelector',
      'Injection Namespace Selector',
      'Namespaces whose pods get a Weft proxy (default: label weft.dev/inject=enabled).',
      urn.namespaceSelector,
    ),
    d(
      'proxy.logLevel',
      'Proxy Log Level',
      'Log level of every Weft proxy.',
      ...['trace', 'debug', 'info', 'warn', 'error'].map(urn.select),
    ),
    d(
      'proxy.resources',
      'Proxy Resources',
      'CPU and memory requests and limits of each injected proxy.',
      urn.resources,
      urn.advanced,
    ),
    d(
      'proxy.holdApplicationUntilProxyStarts',
      'Hold Application Until Proxy Starts',
      'Start application containers only once the proxy is ready.',
      urn.booleanSwitch,
    ),
    d(
      'proxy.nativeSidecar',
      'Native Sidecar',
      'Inject the proxy as a native sidecar (restartable init container) rather than a classic container.',
      urn.booleanSwitch,
      urn.advanced,
    ),
    d('telemetry.accessLogs.enabled', 'Access Logs', 'Proxies log every request.', urn.booleanSwitch),
    d(
      'telemetry.metrics.enabled',
      'Metrics',
      'Proxies serve Prometheus metrics on port 15090.',
      urn.booleanSwitch,
    ),
    d(
      'telemetry.tracing.samplingPercent',
      'Trace Sampling Percent',
      'Percentage of requests traced, 0 to 100.',
      urn.number,
    ),
  ],
  statusDescriptors: [
    d(
      'conditions',
      'Conditions',
      'Ready summarises CertificateAuthorityReady, ControlPlaneReady, GatewaysReady and WebhooksReady; Reconciled says whether the last reconcile succeeded.',
      urn.conditions,
    ),
    d('state', 'State', 'Healthy, or the reason of the first condition that is not True.', urn.phase),
    d(
      'observedGeneration',
      'Observed Generation',
      'The metadata.generation the operator last reconciled.',
      urn.statusText,
    ),
    d(
      'controlPlane.readyReplicas',
      'Control Plane Ready Replicas',
      'Ready replicas of the control plane Deployment.',
      urn.statusText,
    ),
    d('certificateAuthority.source', 'CA Source', 'SelfSigned or ExistingSecret.', urn.statusText),
    d('certificateAuthority.secretName', 'CA Secret', 'The Secret holding the mesh CA.', urn.secret),
    d(
      'certificateAuthority.rootNotAfter',
      'Root Certificate Expiry',
      'When the mesh root certificate expires.',
      urn.timestamp,
    ),
    d(
      'certificateAuthority.rootFingerprintSHA256',
      'Root Certificate Fingerprint',
      'SHA-256 fingerprint of the mesh root certificate.',
      urn.statusText,
    ),
  ],
  resources: [
    { kind: 'Deployment', name: '', version: 'v1' },
    { kind: 'Service', name: '', version: 'v1' },
    { kind: 'ConfigMap', name: '', version: 'v1' },
    { kind: 'Secret', name: '', version: 'v1' },
    { kind: 'ServiceAccount', name: '', version: 'v1' },
    { kind: 'MutatingWebhookConfiguration', name: '', version: 'v1' },
    { kind: 'ValidatingWebhookConfiguration', name: '', version: 'v1' },
  ],
};

const traffic = (displayName: string): CrdDescriptors => ({
  displayName,
  specDescriptors: [],
  statusDescriptors: resourceStatus,
});

/** Descriptors by CRD kind. Every Weft kind must have an entry; the builder fails on a new one. */
export const DESCRIPTORS: Readonly<Record<string, CrdDescriptors>> = {
  Mesh: meshDescriptors,
  VirtualService: {
    ...traffic('Virtual Service'),
    specDescriptors: [d('hosts', 'Hosts', 'The hosts this routing applies to.', urn.text)],
  },
  DestinationRule: {
    ...traffic('Destination Rule'),
    specDescriptors: [d('host', 'Host', 'The service the policies apply to.', urn.text)],
  },
  Gateway: traffic('Gateway'),
  ServiceEntry: {
    ...traffic('Service Entry'),
    specDescriptors: [d('hosts', 'Hosts', 'The hosts the entry adds to the mesh registry.', urn.text)],
  },
  WorkloadEntry: {
    ...traffic('Workload Entry'),
    specDescriptors: [
      d('address', 'Address', 'The workload address (IP or DNS name).', urn.text),
      d('serviceAccount', 'Service Account', 'The identity the workload runs as.', urn.text),
    ],
  },
  Sidecar: traffic('Sidecar'),
  PeerAuthentication: {
    ...traffic('Peer Authentication'),
    specDescriptors: [
      d(
        'mtls.mode',
        'Mutual TLS Mode',
        'Which traffic the selected proxies accept.',
        ...['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'].map(urn.select),
      ),
    ],
  },
  AuthorizationPolicy: {
    ...traffic('Authorization Policy'),
    specDescriptors: [
      d(
        'action',
        'Action',
        'What happens to a request matching the rules.',
        ...['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'].map(urn.select),
      ),
    ],
  },
};
