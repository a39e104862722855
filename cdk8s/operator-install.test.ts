import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject, V1ClusterRole, V1Deployment } from '@kubernetes/client-node';
import { CHILD_KINDS } from '../controllers/mesh/mesh-reconciler.js';
import { meshSpecWithDefaults } from '../crds/defaults.js';
import { renderMesh } from './mesh-chart.js';
import { OPERATOR_NAMESPACE, renderOperatorInstall } from './operator-install.js';
import { mergeRules, rulesOfRoles, type ResourceRule } from './operator-rbac.js';

const objects = renderOperatorInstall({ version: '0.1.0' });
const byKind = <T extends KubernetesObject>(kind: string, from = objects): T => {
  const found = from.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as T;
};
const clusterRole = byKind<V1ClusterRole>('ClusterRole');
const operatorRules = rulesOfRoles([clusterRole]);

/** Whether the operator's rules allow `verb` on `resource` (in `group`, optionally one named object). */
function allows(group: string, resource: string, verb: string, name?: string): boolean {
  return operatorRules.some(
    (r) =>
      r.apiGroup === group &&
      r.resource === resource &&
      r.verbs.includes(verb) &&
      (r.resourceName === undefined || r.resourceName === name),
  );
}

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

describe('operator install', () => {
  it('runs the image operator entrypoint as its own ServiceAccount, in its own namespace, non-root', () => {
    const deployment = byKind<V1Deployment>('Deployment');
    assert.equal(deployment.metadata?.namespace, OPERATOR_NAMESPACE);
    const pod = deployment.spec!.template.spec!;
    assert.equal(pod.serviceAccountName, 'weft-operator');
    const container = pod.containers[0]!;
    assert.equal(container.image, 'ghcr.io/weft-dev/weft:v0.1.0');
    assert.equal(container.args?.[0], 'operator');
    assert.ok(
      container.args?.includes('--health-probe-bind-address=:8081'),
      'probes reachable by the kubelet',
    );
    assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(container.securityContext?.runAsNonRoot, true);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(
      container.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath,
      'metadata.namespace',
    );
    assert.deepEqual(deployment.spec?.selector.matchLabels, { 'app.kubernetes.io/name': 'weft-operator' });
  });

  it('binds the ClusterRole to the ServiceAccount in the chosen namespace, with the chosen image', () => {
    const custom = renderOperatorInstall({ version: '0.2.0', namespace: 'ops', image: 'weft:dev' });
    const binding = byKind<
      { subjects: { kind: string; name: string; namespace: string }[] } & KubernetesObject
    >('ClusterRoleBinding', custom);
    assert.deepEqual(
      binding.subjects.map((s) => [s.kind, s.namespace, s.name]),
      [['ServiceAccount', 'ops', 'weft-operator']],
    );
    const deployment = byKind<V1Deployment>('Deployment', custom);
    assert.equal(deployment.spec!.template.spec!.containers[0]!.image, 'weft:dev');
    assert.equal(byKind('Namespace', custom).metadata?.name, 'ops');
    assert.equal(
      renderOperatorInstall({ version: '0.1.0', includeNamespace: false }).some(
        (o) => o.kind === 'Namespace',
      ),
      false,
    );
  });

  it('names every verb and resource: no wildcards anywhere', () => {
    for (const rule of clusterRole.rules ?? []) {
      const flat = [...rule.verbs, ...(rule.resources ?? []), ...(rule.apiGroups ?? [])];
      assert.ok(!flat.includes('*'), JSON.stringify(rule));
      assert.ok(
        !rule.verbs.some((v) => ['escalate', 'bind', 'impersonate'].includes(v)),
        JSON.stringify(rule),
      );
    }
  });

  it('may do to every kind of Mesh child what the reconciler does: watch, apply, prune', () => {
    for (const info of CHILD_KINDS) {
      for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete'])
        assert.ok(allows(groupOf(info.apiVersion), info.plural, verb), `${verb} ${info.plural}`);
    }
    assert.ok(allows('mesh.weft.dev', 'meshes/status', 'patch'));
    assert.ok(allows('', 'secrets', 'create') && allows('', 'secrets', 'get'), 'the CA Secret');
    assert.ok(!allows('', 'secrets', 'list'), 'Secrets are never listed cluster-wide');
  });

  it('holds every permission a Mesh grants its control plane, so the API server lets it create those roles', () => {
    const meshes = [
      renderMesh({ meshName: 'a', spec: meshSpecWithDefaults({}), injectedNamespaces: [] }),
      renderMesh({
        meshName: 'b',
        spec: meshSpecWithDefaults({ namespace: 'mesh-b', gateways: [{ name: 'in' }] }),
        injectedNamespaces: ['shop'],
        rootCertPem: 'PEM',
      }),
    ];
    // Every (group, resource, verb, name) the rendered Roles and ClusterRoles grant, spelled out here
    // rather than through the code under test.
    const granted = meshes
      .flat()
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .flatMap((role) => (role as V1ClusterRole).rules ?? [])
      .flatMap((rule) =>
        (rule.resources ?? []).flatMap((resource) =>
          rule.verbs.flatMap((verb) =>
            (rule.resourceNames?.length ? rule.resourceNames : [undefined]).map(
              (name) => [rule.apiGroups?.[0] ?? '', resource, verb, name] as const,
            ),
          ),
        ),
      );
    assert.ok(
      granted.some(([, resource]) => resource === 'tokenreviews') && granted.some(([, , , name]) => name),
    );
    for (const [group, resource, verb, name] of granted)
      assert.ok(allows(group, resource, verb, name), `${verb} ${resource} ${name ?? ''}`);
  });
});

describe('mergeRules', () => {
  const rule = (resource: string, verbs: string[], resourceName?: string): ResourceRule => ({
    apiGroup: '',
    resource,
    verbs,
    ...(resourceName ? { resourceName } : {}),
  });

  it('unions the verbs of rules on one resource and sorts them', () => {
    assert.deepEqual(mergeRules([rule('pods', ['watch', 'get']), rule('pods', ['list', 'get'])]), [
      rule('pods', ['get', 'list', 'watch']),
    ]);
  });

  it('drops a rule on a named object only when the rule on every object already allows its verbs', () => {
    assert.deepEqual(mergeRules([rule('secrets', ['get', 'create']), rule('secrets', ['get'], 'ca')]), [
      rule('secrets', ['create', 'get']),
    ]);
    assert.deepEqual(mergeRules([rule('secrets', ['get']), rule('secrets', ['get', 'list'], 'ca')]), [
      rule('secrets', ['get']),
      rule('secrets', ['get', 'list'], 'ca'),
    ]);
  });
});
