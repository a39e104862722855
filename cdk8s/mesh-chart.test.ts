import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type {
  KubernetesObject,
  V1ClusterRole,
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1PolicyRule,
  V1Role,
  V1Service,
  V1ServicePort,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { meshSpecWithDefaults } from '../crds/defaults.js';
import type { MeshSpec } from '../crds/generated/types/mesh.js';
import { repoRoot } from '../test/cluster/paths.js';
import { renderMesh } from './mesh-chart.js';
import type { MeshRenderInput } from './render-input.js';

const MESH = 'prod-mesh';
const NAMESPACE = 'weft-prod';
const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBroot\n-----END CERTIFICATE-----\n';
const ROOT_B64 = Buffer.from(ROOT_PEM).toString('base64');

const baseSpec: MeshSpec = {
  namespace: NAMESPACE,
  gateways: [
    {
      name: 'ingress',
      service: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }] },
    },
  ],
};

function input(overrides: Partial<MeshRenderInput> = {}, spec: MeshSpec = baseSpec): MeshRenderInput {
  return { meshName: MESH, spec: meshSpecWithDefaults(spec), injectedNamespaces: [], ...overrides };
}

function only<T>(items: readonly T[] | undefined, what: string): T {
  assert.equal(items?.length, 1, `expected exactly one ${what}`);
  return items[0]!;
}

function find<T extends KubernetesObject>(
  objects: readonly KubernetesObject[],
  kind: string,
  name: string,
  namespace?: string,
): T {
  const found = objects.filter(
    (o) =>
      o.kind === kind &&
      o.metadata?.name === name &&
      (namespace === undefined || o.metadata?.namespace === namespace),
  );
  return only(found, `${kind} ${namespace ?? ''}/${name}`) as T;
}

const refs = (objects: readonly KubernetesObject[]): string[] =>
  objects.map((o) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`).sort();

/**
 * The webhooks of each configuration: the injector has one per injection selector (the Mesh's, then
 * the revision label's); `mutating` is the first.
 */
function webhooks(objects: readonly KubernetesObject[]): {
  mutating: V1MutatingWebhook;
  injectors: V1MutatingWebhook[];
  validating: V1ValidatingWebhook;
} {
  const m = find<V1MutatingWebhookConfiguration>(
    objects,
    'MutatingWebhookConfiguration',
    'weft-sidecar-injector',
  );
  const v = find<V1ValidatingWebhookConfiguration>(
    objects,
    'ValidatingWebhookConfiguration',
    'weft-validator',
  );
  assert.deepEqual(
    m.webhooks?.map((w) => w.name),
    ['sidecar-injector.weft.dev', 'rev.sidecar-injector.weft.dev'],
  );
  return {
    mutating: m.webhooks[0]!,
    injectors: m.webhooks,
    validating: only(v.webhooks, 'validating webhook'),
  };
}

function deployment(
  objects: readonly KubernetesObject[],
  name: string,
  namespace: string,
): { deployment: V1Deployment; pod: V1PodSpec; container: V1Container } {
  const d = find<V1Deployment>(objects, 'Deployment', name, namespace);
  const pod = d.spec?.template.spec;
  assert.ok(pod, `Deployment ${name} has no pod spec`);
  return { deployment: d, pod, container: only(pod.containers, `container of ${name}`) };
}

const servicePorts = (service: V1Service): V1ServicePort[] => service.spec?.ports ?? [];

describe('renderMesh', () => {
  it('renders the namespace, control plane, its RBAC, one gateway and the webhooks', () => {
    const objects = renderMesh(input());
    assert.deepEqual(
      refs(objects),
      [
        `ClusterRole /weft-control-plane-${MESH}`,
        `ClusterRoleBinding /weft-control-plane-${MESH}`,
        `Deployment ${NAMESPACE}/ingress`,
        `Deployment ${NAMESPACE}/weft-control-plane`,
        'MutatingWebhookConfiguration /weft-sidecar-injector',
        `Namespace /${NAMESPACE}`,
        `PodDisruptionBudget ${NAMESPACE}/weft-control-plane`,
        `Role ${NAMESPACE}/weft-control-plane`,
        `Role ${NAMESPACE}/weft-control-plane-gateway-credentials`,
        `RoleBinding ${NAMESPACE}/weft-control-plane`,
        `RoleBinding ${NAMESPACE}/weft-control-plane-gateway-credentials`,
        `Service ${NAMESPACE}/ingress`,
        `Service ${NAMESPACE}/weft-control-plane`,
        `ServiceAccount ${NAMESPACE}/ingress`,
        `ServiceAccount ${NAMESPACE}/weft-control-plane`,
        'ValidatingWebhookConfiguration /weft-validator',
      ].sort(),
    );
  });

  it('renders no gateway objects for a spec without gateways', () => {
    const objects = renderMesh(input({}, { namespace: NAMESPACE }));
    assert.equal(
      objects.some((o) => o.metadata?.name === 'ingress'),
      false,
    );
    assert.deepEqual(
      objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata?.name),
      ['weft-control-plane'],
    );
  });

  it('labels every object as managed by weft-operator and belonging to the mesh', () => {
    const objects = renderMesh(input({ rootCertPem: ROOT_PEM, injectedNamespaces: ['team-a'] }));
    assert.ok(objects.length > 0);
    for (const o of objects) {
      const labels = o.metadata?.labels ?? {};
      assert.equal(labels['app.kubernetes.io/managed-by'], 'weft-operator', `${o.kind} ${o.metadata?.name}`);
      assert.equal(labels['weft.dev/mesh'], MESH, `${o.kind} ${o.metadata?.name}`);
    }
  });

  it('grants no wildcard in any RBAC rule', () => {
    const objects = renderMesh(input());
    const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as (
      V1ClusterRole | V1Role
    )[];
    assert.equal(roles.length, 3);
    for (const role of roles) {
      const rules: V1PolicyRule[] = role.rules ?? [];
      assert.ok(rules.length > 0, `${role.kind} has no rules`);
      for (const rule of rules) {
        for (const [field, values] of [
          ['verbs', rule.verbs],
          ['resources', rule.resources],
          ['apiGroups', rule.apiGroups],
        ] as const) {
          assert.ok(values && values.length > 0, `${role.kind} rule without ${field}`);
          assert.ok(!values.some((v) => v.includes('*')), `${role.kind} ${field}: ${values.join(',')}`);
        }
      }
    }
  });

  it('lets the control plane patch only its own two webhook configurations', () => {
    const role = find<V1ClusterRole>(renderMesh(input()), 'ClusterRole', `weft-control-plane-${MESH}`);
    const webhookRules = (role.rules ?? []).filter((r) =>
      r.apiGroups?.includes('admissionregistration.k8s.io'),
    );
    assert.deepEqual(
      webhookRules.map((r) => [r.resources, r.resourceNames]),
      [
        [['mutatingwebhookconfigurations'], ['weft-sidecar-injector']],
        [['validatingwebhookconfigurations'], ['weft-validator']],
      ],
    );
  });

  describe('webhook configurations', () => {
    it('have no side effects, a short timeout and never select kube-system or the mesh namespace', () => {
      const { injectors, validating } = webhooks(renderMesh(input({ rootCertPem: ROOT_PEM })));
      for (const webhook of [...injectors, validating]) {
        assert.equal(webhook.sideEffects, 'None', webhook.name);
        assert.equal(webhook.failurePolicy, 'Fail', webhook.name);
        assert.ok(
          webhook.timeoutSeconds !== undefined && webhook.timeoutSeconds <= 10,
          `${webhook.name} timeoutSeconds ${webhook.timeoutSeconds}`,
        );
        const exclusion = webhook.namespaceSelector?.matchExpressions?.find(
          (e) => e.key === 'kubernetes.io/metadata.name',
        );
        assert.ok(exclusion, `${webhook.name} has no namespace exclusion`);
        assert.equal(exclusion.operator, 'NotIn');
        assert.ok(exclusion.values?.includes('kube-system'), `${webhook.name} excludes kube-system`);
        assert.ok(exclusion.values?.includes(NAMESPACE), `${webhook.name} excludes the mesh namespace`);
      }
    });

    it('inject only into namespaces the injection selector picks', () => {
      const spec: MeshSpec = {
        namespace: NAMESPACE,
        injection: {
          namespaceSelector: {
            matchLabels: { mesh: 'on' },
            matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }],
          },
        },
      };
      const selector = webhooks(renderMesh(input({}, spec))).mutating.namespaceSelector;
      assert.deepEqual(selector?.matchLabels, { mesh: 'on' });
      assert.deepEqual(selector?.matchExpressions, [
        { key: 'tier', operator: 'In', values: ['web'] },
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE] },
      ]);
    });

    it('inject also into namespaces labelled with the revision and no weft.dev/inject label', () => {
      const { injectors } = webhooks(renderMesh(input()));
      assert.deepEqual(injectors[1]!.namespaceSelector, {
        matchExpressions: [
          { key: 'weft.dev/rev', operator: 'In', values: ['default'] },
          { key: 'weft.dev/inject', operator: 'DoesNotExist' },
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE] },
        ],
      });
    });

    it('skip pods labelled sidecar.weft.dev/inject: "false", only on creation, path /inject', () => {
      for (const injector of webhooks(renderMesh(input())).injectors) {
        assert.deepEqual(injector.objectSelector, {
          matchExpressions: [{ key: 'sidecar.weft.dev/inject', operator: 'NotIn', values: ['false'] }],
        });
        assert.deepEqual(
          injector.rules?.map((r) => [r.operations, r.resources]),
          [[['CREATE'], ['pods']]],
        );
        assert.equal(injector.clientConfig.service?.path, '/inject');
      }
    });

    it('carry the base64 root certificate as caBundle when one is given', () => {
      const { injectors, validating } = webhooks(renderMesh(input({ rootCertPem: ROOT_PEM })));
      for (const injector of injectors) assert.equal(injector.clientConfig.caBundle, ROOT_B64);
      assert.equal(validating.clientConfig.caBundle, ROOT_B64);
      assert.equal(Buffer.from(ROOT_B64, 'base64').toString(), ROOT_PEM);
    });

    it('have no caBundle before the root certificate exists', () => {
      const { mutating, validating } = webhooks(renderMesh(input()));
      assert.equal('caBundle' in mutating.clientConfig, false);
      assert.equal('caBundle' in validating.clientConfig, false);
    });

    it('leave out the caBundle of a configuration whose caBundle another manager owns', () => {
      const one = webhooks(
        renderMesh(
          input({ rootCertPem: ROOT_PEM, caBundleOwnedElsewhere: new Set(['weft-sidecar-injector']) }),
        ),
      );
      assert.equal('caBundle' in one.mutating.clientConfig, false);
      assert.equal(one.validating.clientConfig.caBundle, ROOT_B64);

      const both = webhooks(
        renderMesh(
          input({
            rootCertPem: ROOT_PEM,
            caBundleOwnedElsewhere: new Set(['weft-sidecar-injector', 'weft-validator']),
          }),
        ),
      );
      assert.equal('caBundle' in both.mutating.clientConfig, false);
      assert.equal('caBundle' in both.validating.clientConfig, false);
    });

    it('call the control-plane Service in the mesh namespace by default', () => {
      const { mutating, validating } = webhooks(renderMesh(input({ rootCertPem: ROOT_PEM })));
      assert.deepEqual(mutating.clientConfig.service, {
        name: 'weft-control-plane',
        namespace: NAMESPACE,
        port: 443,
        path: '/inject',
      });
      assert.deepEqual(validating.clientConfig.service, {
        name: 'weft-control-plane',
        namespace: NAMESPACE,
        port: 443,
        path: '/validate',
      });
      assert.equal('url' in mutating.clientConfig, false);
      assert.equal('url' in validating.clientConfig, false);
    });

    it('call controlPlaneUrl when one is set', () => {
      const { mutating, validating } = webhooks(
        renderMesh(input({ rootCertPem: ROOT_PEM, controlPlaneUrl: 'https://host.docker.internal:15017' })),
      );
      assert.equal(mutating.clientConfig.url, 'https://host.docker.internal:15017/inject');
      assert.equal(validating.clientConfig.url, 'https://host.docker.internal:15017/validate');
      assert.equal('service' in mutating.clientConfig, false);
      assert.equal('service' in validating.clientConfig, false);
      assert.equal(mutating.clientConfig.caBundle, ROOT_B64);
    });

    it('do not double the slash when controlPlaneUrl ends with one', () => {
      const { mutating } = webhooks(renderMesh(input({ controlPlaneUrl: 'https://10.0.0.1:15017/' })));
      assert.equal(mutating.clientConfig.url, 'https://10.0.0.1:15017/inject');
    });
  });

  describe('control plane', () => {
    it('follows the spec for replicas, resources, nodeSelector and tolerations', () => {
      const spec: MeshSpec = {
        namespace: NAMESPACE,
        controlPlane: {
          replicas: 3,
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1536Mi', cpu: 2 } },
          nodeSelector: { 'node-role.kubernetes.io/infra': '' },
          tolerations: [{ key: 'infra', operator: 'Exists', effect: 'NoSchedule' }],
        },
      };
      const cp = deployment(renderMesh(input({}, spec)), 'weft-control-plane', NAMESPACE);
      assert.equal(cp.deployment.spec?.replicas, 3);
      assert.deepEqual(cp.container.resources, {
        requests: { cpu: '250m', memory: '256Mi' },
        limits: { memory: '1536Mi', cpu: '2' },
      });
      assert.deepEqual(cp.pod.nodeSelector, { 'node-role.kubernetes.io/infra': '' });
      assert.deepEqual(cp.pod.tolerations, [{ key: 'infra', operator: 'Exists', effect: 'NoSchedule' }]);
    });

    it('uses default resources and no placement constraints when the spec gives none', () => {
      const objects = renderMesh(input({}, { namespace: NAMESPACE, controlPlane: { replicas: 1 } }));
      const cp = deployment(objects, 'weft-control-plane', NAMESPACE);
      assert.equal(cp.deployment.spec?.replicas, 1);
      assert.deepEqual(cp.container.resources, {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { memory: '1Gi' },
      });
      assert.equal(cp.pod.nodeSelector, undefined);
      assert.equal(cp.pod.tolerations, undefined);
    });

    it('runs the image of the mesh version unless the spec overrides it', () => {
      const versioned = deployment(
        renderMesh(input({}, { namespace: NAMESPACE, version: '1.2.3' })),
        'weft-control-plane',
        NAMESPACE,
      );
      assert.match(versioned.container.image ?? '', /:v1\.2\.3$/);
      const custom = deployment(
        renderMesh(input({}, { namespace: NAMESPACE, controlPlane: { image: 'registry.local/weft:dev' } })),
        'weft-control-plane',
        NAMESPACE,
      );
      assert.equal(custom.container.image, 'registry.local/weft:dev');
    });

    it('gives gateway pods arguments weft-proxy accepts, with the CA token and mesh root mounted', () => {
      const { container } = deployment(renderMesh(input()), 'ingress', NAMESPACE);
      const [entry, ...args] = container.args ?? [];
      assert.equal(entry, 'proxy');
      assert.ok(
        args.includes('--role=gateway') && args.includes('--service-account=ingress'),
        args.join(' '),
      );
      assert.ok(args.includes(`--control-plane=https://weft-control-plane.${NAMESPACE}.svc:15012`));
      const mounted = (container.volumeMounts ?? []).map((m) => m.mountPath);
      for (const flag of ['--token-file=', '--root-cert=']) {
        const file = args.find((a) => a.startsWith(flag))!.slice(flag.length);
        assert.ok(
          mounted.some((dir) => file.startsWith(`${dir}/`)),
          `${file} is not in a mounted volume: ${mounted.join(', ')}`,
        );
      }
      // The real program's parser, with the variables the kubelet expands filled in.
      const expanded = args.map((a) =>
        a.replace('$(POD_NAMESPACE)', NAMESPACE).replace('$(POD_IP)', '10.0.0.9'),
      );
      const res = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'proxy/main.ts'), ...expanded, '--help'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(res.status, 0, res.stderr);
    });

    it('passes arguments weft-control-plane accepts, listening on every address in the pod', () => {
      const { container } = deployment(renderMesh(input()), 'weft-control-plane', NAMESPACE);
      const [entry, ...args] = container.args ?? [];
      assert.equal(entry, 'control-plane');
      for (const port of [15012, 15014, 15017])
        assert.ok(
          args.some((a) => a.endsWith(`=0.0.0.0:${port}`)),
          `${port}: ${args.join(' ')}`,
        );
      // The real program's parser: an unknown flag would crash-loop the pod.
      const res = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'controllers/control-plane/main.ts'), ...args, '--help'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stdout, /usage: weft-control-plane/);
    });

    it('selects its pods with the Deployment, Service and PodDisruptionBudget alike', () => {
      const objects = renderMesh(input());
      const cp = deployment(objects, 'weft-control-plane', NAMESPACE);
      const service = find<V1Service>(objects, 'Service', 'weft-control-plane', NAMESPACE);
      const pdb = find<V1PodDisruptionBudget>(
        objects,
        'PodDisruptionBudget',
        'weft-control-plane',
        NAMESPACE,
      );
      const podLabels = cp.deployment.spec?.template.metadata?.labels ?? {};
      for (const selector of [
        cp.deployment.spec?.selector.matchLabels,
        service.spec?.selector,
        pdb.spec?.selector?.matchLabels,
      ]) {
        assert.ok(selector && Object.keys(selector).length > 0, 'a non-empty selector');
        for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, k);
      }
    });

    it('exposes 15010, 15012, 15014 and the webhook on 443 -> 15017', () => {
      const service = find<V1Service>(renderMesh(input()), 'Service', 'weft-control-plane', NAMESPACE);
      const ports = servicePorts(service)
        .map((p) => [p.port, p.targetPort])
        .sort((a, b) => Number(a[0]) - Number(b[0]));
      assert.deepEqual(ports, [
        [443, 15017],
        [15010, 15010],
        [15012, 15012],
        [15014, 15014],
      ]);
    });
  });

  describe('root certificate ConfigMaps', () => {
    it("are in each injected namespace and each gateway's once the root certificate exists", () => {
      const objects = renderMesh(input({ rootCertPem: ROOT_PEM, injectedNamespaces: ['team-a', 'team-b'] }));
      const configMaps = objects.filter((o) => o.kind === 'ConfigMap') as V1ConfigMap[];
      assert.deepEqual(configMaps.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`).sort(), [
        'team-a/weft-ca-root-cert',
        'team-b/weft-ca-root-cert',
        `${NAMESPACE}/weft-ca-root-cert`,
      ]);
      for (const c of configMaps) assert.deepEqual(c.data, { 'root-cert.pem': ROOT_PEM });
    });

    it("carry every root of a rotation, and so does the webhooks' caBundle, byte for byte", () => {
      const roots = `${ROOT_PEM}-----BEGIN CERTIFICATE-----\r\nMIIBnew\r\n-----END CERTIFICATE-----\r\n`;
      const objects = renderMesh(input({ rootCertPem: roots, injectedNamespaces: ['team-a'] }));
      const configMaps = objects.filter((o) => o.kind === 'ConfigMap') as V1ConfigMap[];
      assert.equal(configMaps.length, 2);
      for (const c of configMaps) assert.deepEqual(c.data, { 'root-cert.pem': roots });
      const { injectors, validating } = webhooks(objects);
      for (const webhook of [...injectors, validating])
        assert.equal(Buffer.from(webhook.clientConfig.caBundle!, 'base64').toString(), roots, webhook.name);
    });

    it('are absent before the root certificate exists', () => {
      const objects = renderMesh(input({ injectedNamespaces: ['team-a', 'team-b'] }));
      assert.equal(
        objects.some((o) => o.kind === 'ConfigMap'),
        false,
      );
    });
  });

  it('renders the same objects for the same input', () => {
    const i = input({
      rootCertPem: ROOT_PEM,
      injectedNamespaces: ['team-a'],
      caBundleOwnedElsewhere: new Set(['weft-validator']),
    });
    assert.deepEqual(renderMesh(i), renderMesh(i));
  });

  describe('gateways', () => {
    it('opt their pods out of sidecar injection: they are proxies already', () => {
      const gateway = deployment(renderMesh(input()), 'ingress', NAMESPACE).deployment;
      assert.equal(gateway.spec?.template.metadata?.labels?.['sidecar.weft.dev/inject'], 'false');
    });

    it('expose the Service type and ports of the spec', () => {
      const objects = renderMesh(input());
      const service = find<V1Service>(objects, 'Service', 'ingress', NAMESPACE);
      assert.equal(service.spec?.type, 'NodePort');
      assert.deepEqual(servicePorts(service), [
        { name: 'http', port: 80, targetPort: 8080, nodePort: 30080 },
      ]);
      const containerPorts = deployment(objects, 'ingress', NAMESPACE).container.ports?.map(
        (p) => p.containerPort,
      );
      assert.ok(containerPorts?.includes(8080), `container ports ${containerPorts?.join(',')}`);
    });

    it('default to a LoadBalancer with targetPort = port in the mesh namespace, or their own namespace', () => {
      const spec: MeshSpec = {
        namespace: NAMESPACE,
        gateways: [
          { name: 'public', service: { ports: [{ name: 'https', port: 443 }] } },
          {
            name: 'internal',
            namespace: 'edge',
            replicas: 2,
            service: { type: 'ClusterIP', ports: [{ name: 'grpc', port: 9090, targetPort: 9091 }] },
          },
          { name: 'plain' },
        ],
      };
      const objects = renderMesh(input({}, spec));
      const pub = find<V1Service>(objects, 'Service', 'public', NAMESPACE);
      assert.equal(pub.spec?.type, 'LoadBalancer');
      assert.deepEqual(servicePorts(pub), [{ name: 'https', port: 443, targetPort: 443 }]);
      assert.equal(deployment(objects, 'public', NAMESPACE).deployment.spec?.replicas, 1);

      const internal = find<V1Service>(objects, 'Service', 'internal', 'edge');
      assert.equal(internal.spec?.type, 'ClusterIP');
      assert.deepEqual(servicePorts(internal), [{ name: 'grpc', port: 9090, targetPort: 9091 }]);
      assert.equal(deployment(objects, 'internal', 'edge').deployment.spec?.replicas, 2);

      // A gateway without a service section gets the schema's default ports.
      const plain = find<V1Service>(objects, 'Service', 'plain', NAMESPACE);
      assert.equal(plain.spec?.type, 'LoadBalancer');
      assert.deepEqual(servicePorts(plain), [
        { name: 'http2', port: 80, targetPort: 8080 },
        { name: 'https', port: 443, targetPort: 8443 },
      ]);
    });

    it("let the control plane get Secrets (gateway credentials) in each gateway's namespace, and nothing more", () => {
      const spec: MeshSpec = {
        namespace: NAMESPACE,
        gateways: [
          { name: 'public' },
          { name: 'internal', namespace: 'edge' },
          { name: 'other', namespace: 'edge' },
        ],
      };
      const objects = renderMesh(input({}, spec));
      const grants = objects.filter((o) => o.metadata?.name === 'weft-control-plane-gateway-credentials');
      assert.deepEqual(
        grants.map((o) => `${o.kind} ${o.metadata?.namespace}`),
        ['Role edge', 'RoleBinding edge', `Role ${NAMESPACE}`, `RoleBinding ${NAMESPACE}`],
      );
      for (const role of grants.filter((o): o is V1Role => o.kind === 'Role'))
        assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
      const binding = grants.find((o) => o.kind === 'RoleBinding' && o.metadata?.namespace === 'edge') as {
        subjects: unknown[];
      } & KubernetesObject;
      assert.deepEqual(binding.subjects, [
        { apiGroup: '', kind: 'ServiceAccount', name: 'weft-control-plane', namespace: NAMESPACE },
      ]);
      assert.equal(
        renderMesh(input({}, { namespace: NAMESPACE })).some((o) =>
          o.metadata?.name?.includes('credentials'),
        ),
        false,
        'no gateway, no access to Secrets',
      );
    });

    it('run their proxies with the mesh proxy resources', () => {
      const spec: MeshSpec = {
        ...baseSpec,
        proxy: { resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } } },
      };
      const gw = deployment(renderMesh(input({}, spec)), 'ingress', NAMESPACE);
      assert.deepEqual(gw.container.resources, {
        requests: { cpu: '50m', memory: '32Mi' },
        limits: { memory: '128Mi' },
      });
    });
  });
});
