import type { KubernetesObject, V1PolicyRule } from '@kubernetes/client-node';
import { meshSpecWithDefaults } from '../crds/defaults.js';
import { renderMesh } from './mesh-chart.js';

/** One RBAC permission on one resource (optionally one named object of it), as the operator needs it. */
export interface ResourceRule {
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  readonly resourceName?: string;
}

/** Everything the operator writes as a Mesh's child: read through informers, applied, pruned. */
const CHILD_RESOURCES = [
  ['', 'namespaces'],
  ['', 'serviceaccounts'],
  ['', 'services'],
  ['', 'configmaps'],
  ['apps', 'deployments'],
  ['policy', 'poddisruptionbudgets'],
  ['rbac.authorization.k8s.io', 'roles'],
  ['rbac.authorization.k8s.io', 'rolebindings'],
  ['rbac.authorization.k8s.io', 'clusterroles'],
  ['rbac.authorization.k8s.io', 'clusterrolebindings'],
  ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations'],
  ['admissionregistration.k8s.io', 'validatingwebhookconfigurations'],
] as const;

/**
 * What the operator itself does (controllers/mesh, operator/): list and watch Meshes and their
 * children, server-side apply and prune children, write Mesh status and its finalizer, create the CA
 * Secret, record Events, and hold its leader-election Lease. Pure.
 */
export function operatorOwnRules(): ResourceRule[] {
  const mesh = 'mesh.weft.dev';
  return [
    // Informer, and the finalizer added and removed by merge patch.
    { apiGroup: mesh, resource: 'meshes', verbs: ['get', 'list', 'watch', 'patch'] },
    { apiGroup: mesh, resource: 'meshes/status', verbs: ['patch'] },
    // Children carry an owner reference with blockOwnerDeletion, which the API server's
    // OwnerReferencesPermissionEnforcement (on in OpenShift) allows only to whoever may update this.
    { apiGroup: mesh, resource: 'meshes/finalizers', verbs: ['update'] },
    // Server-side apply creates through patch; create and delete are the first apply and the prune.
    ...CHILD_RESOURCES.map(([apiGroup, resource]) => ({
      apiGroup,
      resource,
      verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    })),
    // The CA Secret is created once and read by name, never listed: the Mesh names its namespace and,
    // for a plug-in CA, the Secret itself, so neither can be fixed here.
    { apiGroup: '', resource: 'secrets', verbs: ['get', 'create'] },
    { apiGroup: '', resource: 'events', verbs: ['create'] },
    { apiGroup: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'] },
  ];
}

/** Every rule of the Roles and ClusterRoles among `objects`, one per resource and name. Pure. */
export function rulesOfRoles(objects: readonly KubernetesObject[]): ResourceRule[] {
  const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
  return roles.flatMap((role) =>
    ((role as { rules?: V1PolicyRule[] }).rules ?? []).flatMap((rule) =>
      (rule.apiGroups ?? ['']).flatMap((apiGroup) =>
        (rule.resources ?? []).flatMap((resource) => {
          const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
          return names.map((resourceName) => ({
            apiGroup,
            resource,
            verbs: rule.verbs,
            ...(resourceName ? { resourceName } : {}),
          }));
        }),
      ),
    ),
  );
}

/**
 * What the operator grants the control plane. Kubernetes lets a subject create a Role only with
 * permissions it holds itself (short of the `escalate` and `bind` verbs, which would amount to
 * cluster-admin), so these are read off the control plane's rendered RBAC rather than listed twice.
 * The Mesh's install namespace is chosen by its spec, so namespaced grants become cluster-wide. Pure.
 */
export function rulesGrantedToControlPlane(): ResourceRule[] {
  // A gateway of its own namespace brings in the Roles the control plane gets where gateways run.
  const spec = meshSpecWithDefaults({ gateways: [{ name: 'gateway', namespace: 'gateway-namespace' }] });
  return rulesOfRoles(renderMesh({ meshName: 'mesh', spec, injectedNamespaces: [] }));
}

const key = (r: ResourceRule): string => `${r.apiGroup}\u0000${r.resource}\u0000${r.resourceName ?? ''}`;

/**
 * One rule per resource (and name) with the union of verbs, sorted; a rule on a named object is
 * dropped when the rule on every object of that resource already allows its verbs. Pure.
 */
export function mergeRules(rules: readonly ResourceRule[]): ResourceRule[] {
  const merged = new Map<string, ResourceRule>();
  for (const rule of rules) {
    const before = merged.get(key(rule));
    const verbs = [...new Set([...(before?.verbs ?? []), ...rule.verbs])];
    merged.set(key(rule), { ...rule, verbs });
  }
  const covered = (rule: ResourceRule): boolean => {
    const wide = rule.resourceName && merged.get(key({ ...rule, resourceName: undefined }));
    return !!wide && rule.verbs.every((v) => wide.verbs.includes(v));
  };
  return [...merged.values()]
    .filter((rule) => !covered(rule))
    .map((rule) => ({ ...rule, verbs: [...rule.verbs].sort() }))
    .sort((a, b) => key(a).localeCompare(key(b)));
}

/** The operator's ClusterRole: its own needs and what it grants, and nothing else. Pure. */
export function operatorRules(): ResourceRule[] {
  return mergeRules([...operatorOwnRules(), ...rulesGrantedToControlPlane()]);
}
