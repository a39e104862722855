import type {
  KubernetesObject,
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1CustomResourceDefinition,
  V1Deployment,
  V1DeploymentSpec,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
} from '@kubernetes/client-node';
import { OPERATOR_NAMESPACE } from '../../cdk8s/operator-install.js';
import { DESCRIPTORS, type Descriptor } from './descriptors.js';

/**
 * The ClusterServiceVersion: OLM's description of the operator (what it is, how to install it, which
 * APIs it owns). Built from the same inputs as the plain manifests: the generated CRDs, the samples
 * and the operator's own install objects from cdk8s (`renderOperatorInstall`), so the two install
 * paths cannot drift. Pure.
 */

/** The OLM package, and the CSV name prefix: the CSV is `<package>.v<version>`. */
export const PACKAGE_NAME = 'weft';
/** OLM's recommended channel naming: candidate, fast, stable; a 0.x release is a candidate. */
export const CHANNEL = 'candidate';
/**
 * OperatorHub's capability level, honestly: the operator installs and configures the mesh from one
 * resource (level 1). Level 2 needs upgrades proven from one release to the next, and there is no
 * earlier release yet (olm-bundle/README.md).
 */
export const CAPABILITY_LEVEL = 'Basic Install';

export interface SampleFile {
  /** Path relative to crds/samples/, for ordering and error messages. */
  readonly file: string;
  readonly objects: readonly KubernetesObject[];
}

export interface CsvInputs {
  /** The Weft release (package.json), the CSV's version. */
  readonly version: string;
  readonly minKubeVersion: string;
  readonly crds: readonly V1CustomResourceDefinition[];
  readonly samples: readonly SampleFile[];
  /** `renderOperatorInstall({ includeNamespace: false })`: ServiceAccount, RBAC, Deployment. */
  readonly install: readonly KubernetesObject[];
  /** The operator's image; the control plane and proxies run the same image (ADR 0008). */
  readonly image: string;
  readonly iconSvg: string;
}

interface OwnedCrd {
  readonly name: string;
  readonly version: string;
  readonly kind: string;
  readonly displayName: string;
  readonly description: string;
  readonly resources?: readonly { kind: string; name: string; version: string }[];
  readonly specDescriptors: readonly Descriptor[];
  readonly statusDescriptors: readonly Descriptor[];
}

export interface StrategyPermissions {
  readonly serviceAccountName: string;
  readonly rules: readonly V1PolicyRule[];
}

export interface StrategyDeployment {
  readonly name: string;
  readonly label?: Record<string, string>;
  readonly spec: V1DeploymentSpec;
}

export interface ClusterServiceVersion {
  readonly apiVersion: 'operators.coreos.com/v1alpha1';
  readonly kind: 'ClusterServiceVersion';
  readonly metadata: { readonly name: string; readonly annotations: Record<string, string> };
  readonly spec: {
    readonly displayName: string;
    readonly description: string;
    readonly version: string;
    readonly maturity: string;
    readonly minKubeVersion: string;
    readonly keywords: readonly string[];
    readonly maintainers: readonly { name: string; email: string }[];
    readonly provider: { name: string; url: string };
    readonly links: readonly { name: string; url: string }[];
    readonly icon: readonly { base64data: string; mediatype: string }[];
    readonly installModes: readonly { type: string; supported: boolean }[];
    readonly install: {
      readonly strategy: 'deployment';
      readonly spec: {
        readonly deployments: readonly StrategyDeployment[];
        readonly clusterPermissions: readonly StrategyPermissions[];
        readonly permissions?: readonly StrategyPermissions[];
      };
    };
    readonly customresourcedefinitions: { readonly owned: readonly OwnedCrd[] };
    readonly relatedImages: readonly { name: string; image: string }[];
  };
}

const SOURCE = 'https://github.com/weft-dev/weft';

const description = (
  minKubeVersion: string,
): string => `Weft is a service mesh for Kubernetes. Apply one \`Mesh\` resource and the Weft operator brings up
the whole mesh: the control plane, ingress gateways, a certificate authority, and the admission
webhooks that inject a Weft proxy beside every workload and validate mesh resources.

## What you get

- **Mutual TLS everywhere**: every workload gets a SPIFFE identity
  (\`spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>\`) and a short-lived certificate;
  \`PeerAuthentication\` and \`AuthorizationPolicy\` decide who may talk to whom.
- **Traffic management** with Istio's API shapes: \`VirtualService\`, \`DestinationRule\`, \`Gateway\`,
  \`ServiceEntry\`, \`WorkloadEntry\` and \`Sidecar\` in \`networking.weft.dev/v1\`. An Istio resource
  ports over by changing its \`apiVersion\`.
- **Telemetry**: Prometheus metrics on every proxy (port 15090) and access logs.

## Getting started

1. Install the operator (all namespaces).
2. Create the Mesh (the console offers it after install):

   \`\`\`yaml
   apiVersion: mesh.weft.dev/v1alpha1
   kind: Mesh
   metadata:
     name: default
   spec:
     namespace: weft-system
   \`\`\`

3. Wait for \`kubectl wait mesh/default --for=condition=Ready\`, then label the namespaces whose pods
   should get a proxy: \`kubectl label namespace <ns> weft.dev/inject=enabled\`, and restart their pods.

One Mesh is active per cluster. Weft needs Kubernetes ${minKubeVersion} or later (proxies are native sidecars).

Documentation: ${SOURCE}/blob/main/docs/install/olm.md`;

/** The CRD's served versions in the order listed, each an owned API of the CSV. */
function ownedEntries(crd: V1CustomResourceDefinition): OwnedCrd[] {
  const kind = crd.spec.names.kind;
  const descriptors = DESCRIPTORS[kind];
  if (!descriptors)
    throw new Error(
      `CRD ${crd.metadata?.name} (kind ${kind}) has no descriptors: add an entry for ${kind} to olm-bundle/tools/descriptors.ts`,
    );
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => {
      const description = v.schema?.openAPIV3Schema?.description;
      if (!description)
        throw new Error(
          `CRD ${crd.metadata?.name} ${v.name} has no schema description; OLM shows it to users`,
        );
      return {
        name: crd.metadata?.name ?? '',
        version: v.name,
        kind,
        displayName: descriptors.displayName,
        description,
        ...(descriptors.resources ? { resources: descriptors.resources } : {}),
        specDescriptors: descriptors.specDescriptors,
        statusDescriptors: descriptors.statusDescriptors,
      };
    });
}

/** Mesh first (the one resource a user creates), then the others by name. */
export function orderCrds(crds: readonly V1CustomResourceDefinition[]): V1CustomResourceDefinition[] {
  const rank = (c: V1CustomResourceDefinition): string =>
    `${c.spec.names.kind === 'Mesh' ? '0' : '1'}${c.metadata?.name ?? ''}`;
  return [...crds].sort((a, b) => rank(a).localeCompare(rank(b)));
}

/** crds/samples/mesh.yaml first (the one-resource install), then every other file by path. */
export function almExamples(samples: readonly SampleFile[]): KubernetesObject[] {
  const rank = (s: SampleFile): string => `${s.file === 'mesh.yaml' ? '0' : '1'}${s.file}`;
  return [...samples].sort((a, b) => rank(a).localeCompare(rank(b))).flatMap((s) => s.objects);
}

const ofKind = <T extends KubernetesObject>(objects: readonly KubernetesObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];

const KNOWN_INSTALL_KINDS = new Set([
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Deployment',
]);

/**
 * The install strategy: each Deployment as is (OLM sets the namespace), and each (Cluster)Role bound
 * to a ServiceAccount becomes that account's (cluster) permissions. OLM creates the ServiceAccounts,
 * Roles and bindings itself, so none of them is shipped as an object.
 */
export function installStrategy(
  install: readonly KubernetesObject[],
): ClusterServiceVersion['spec']['install'] {
  const unknown = install.filter((o) => !KNOWN_INSTALL_KINDS.has(o.kind ?? ''));
  if (unknown.length > 0)
    throw new Error(
      `the operator install has ${unknown.map((o) => `${o.kind} ${o.metadata?.name}`).join(', ')}, which the CSV builder does not place; ` +
        'teach olm-bundle/tools/csv.ts where it goes (install strategy, or a bundle manifest of a kind registry+v1 supports)',
    );
  const accounts = new Set(ofKind(install, 'ServiceAccount').map((sa) => sa.metadata?.name));
  const permissionsOf = (
    roleKind: 'ClusterRole' | 'Role',
    bindingKind: 'ClusterRoleBinding' | 'RoleBinding',
  ): StrategyPermissions[] => {
    const roles = ofKind<V1ClusterRole | V1Role>(install, roleKind);
    return ofKind<V1ClusterRoleBinding | V1RoleBinding>(install, bindingKind).flatMap((binding) => {
      const role = roles.find((r) => r.metadata?.name === binding.roleRef.name);
      if (!role || binding.roleRef.kind !== roleKind)
        throw new Error(
          `${bindingKind} ${binding.metadata?.name} refers to a ${roleKind} the install does not have`,
        );
      return (binding.subjects ?? []).map((subject) => {
        if (subject.kind !== 'ServiceAccount' || !accounts.has(subject.name))
          throw new Error(
            `${bindingKind} ${binding.metadata?.name} binds ${subject.kind} ${subject.name}, not the install's ServiceAccount`,
          );
        return { serviceAccountName: subject.name, rules: role.rules ?? [] };
      });
    });
  };
  const deployments = ofKind<V1Deployment>(install, 'Deployment').map((d) => {
    if (!d.spec) throw new Error(`Deployment ${d.metadata?.name} has no spec`);
    return {
      name: d.metadata?.name ?? '',
      ...(d.metadata?.labels ? { label: d.metadata.labels } : {}),
      spec: d.spec,
    };
  });
  const permissions = permissionsOf('Role', 'RoleBinding');
  return {
    strategy: 'deployment',
    spec: {
      deployments,
      clusterPermissions: permissionsOf('ClusterRole', 'ClusterRoleBinding'),
      ...(permissions.length > 0 ? { permissions } : {}),
    },
  };
}

/** Weft's operator reconciles cluster-scoped Meshes and writes in any namespace: AllNamespaces only. */
const INSTALL_MODES = [
  { type: 'OwnNamespace', supported: false },
  { type: 'SingleNamespace', supported: false },
  { type: 'MultiNamespace', supported: false },
  { type: 'AllNamespaces', supported: true },
];

/**
 * OpenShift's feature annotations, each false and why: images by tag, not digest (disconnected); no
 * FIPS-validated crypto claimed; no HTTP proxy or cluster TLS profile read; no cloud token auth; not
 * a CNF, CNI or CSI plugin (capture is an init container's iptables rules).
 */
const OPENSHIFT_FEATURES = [
  'disconnected',
  'fips-compliant',
  'proxy-aware',
  'tls-profiles',
  'token-auth-aws',
  'token-auth-azure',
  'token-auth-gcp',
  'cnf',
  'cni',
  'csi',
].map((f) => [`features.operators.openshift.io/${f}`, 'false'] as const);

function annotations(inputs: CsvInputs, examples: readonly KubernetesObject[]): Record<string, string> {
  const mesh = examples.find((e) => e.kind === 'Mesh');
  if (!mesh) throw new Error('crds/samples/ has no Mesh: the CSV needs one as its initialization resource');
  const entries: Record<string, string> = {
    'alm-examples': JSON.stringify(examples, null, 2),
    capabilities: CAPABILITY_LEVEL,
    categories: 'Networking, Security',
    certified: 'false',
    containerImage: inputs.image,
    description:
      'A service mesh for Kubernetes: mutual TLS, traffic management and telemetry from one Mesh resource.',
    'operatorframework.io/initialization-resource': JSON.stringify(mesh),
    // Where the console installs the operator unless told otherwise: the plain manifests' namespace (ADR 0008).
    'operatorframework.io/suggested-namespace': OPERATOR_NAMESPACE,
    repository: SOURCE,
    support: 'Weft maintainers',
    ...Object.fromEntries(OPENSHIFT_FEATURES),
  };
  return Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));
}

/** The ClusterServiceVersion for this release. Pure: the same inputs give the same object. */
export function buildCsv(inputs: CsvInputs): ClusterServiceVersion {
  const examples = almExamples(inputs.samples);
  return {
    apiVersion: 'operators.coreos.com/v1alpha1',
    kind: 'ClusterServiceVersion',
    metadata: { name: `${PACKAGE_NAME}.v${inputs.version}`, annotations: annotations(inputs, examples) },
    spec: {
      displayName: 'Weft',
      description: description(inputs.minKubeVersion),
      version: inputs.version,
      maturity: 'alpha',
      minKubeVersion: inputs.minKubeVersion,
      keywords: ['service mesh', 'mtls', 'istio', 'networking', 'security', 'proxy', 'traffic management'],
      maintainers: [{ name: 'Weft maintainers', email: 'maintainers@weft.dev' }],
      provider: { name: 'Weft', url: SOURCE },
      links: [
        { name: 'Source', url: SOURCE },
        { name: 'Documentation', url: `${SOURCE}/blob/main/README.md` },
        { name: 'Install with OLM', url: `${SOURCE}/blob/main/docs/install/olm.md` },
      ],
      icon: [
        { base64data: Buffer.from(inputs.iconSvg, 'utf8').toString('base64'), mediatype: 'image/svg+xml' },
      ],
      installModes: INSTALL_MODES,
      install: installStrategy(inputs.install),
      customresourcedefinitions: { owned: orderCrds(inputs.crds).flatMap(ownedEntries) },
      relatedImages: [{ name: 'weft', image: inputs.image }],
    },
  };
}
