import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { KubernetesObject, V1ClusterRole, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { renderOperatorInstall } from '../../cdk8s/operator-install.js';
import { renderBundle } from './bundle.js';
import { buildCsv, installStrategy, type ClusterServiceVersion } from './csv.js';
import { DESCRIPTORS } from './descriptors.js';
import { readCrds, readInputs, readSamples, repoDir } from './inputs.js';
import { bundleAnnotations } from './metadata.js';

const inputs = readInputs();
const csv = buildCsv({ ...inputs, crds: inputs.crdFiles.map((c) => c.crd) });
const crds = readCrds(join(repoDir, 'crds', 'generated')).map((c) => c.crd);

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: unknown[];
}

/** The schema node at a descriptor path (`a.b.c`, through arrays' items), or undefined. */
function schemaAt(root: SchemaNode | undefined, path: string): SchemaNode | undefined {
  let node = root;
  for (const segment of path.split('.')) {
    node = node?.items ? node.items : node;
    node = node?.properties?.[segment];
  }
  return node;
}

describe('ClusterServiceVersion', () => {
  it('has alm-examples equal to every sample document in crds/samples, the Mesh first', () => {
    const examples = JSON.parse(csv.metadata.annotations['alm-examples'] ?? '[]') as KubernetesObject[];
    const samples = readSamples(join(repoDir, 'crds', 'samples'));
    const all = samples.flatMap((s) => s.objects);
    assert.equal(examples.length, all.length);
    assert.deepEqual(
      new Set(examples.map((e) => JSON.stringify(e))),
      new Set(all.map((o) => JSON.stringify(o))),
    );
    assert.deepEqual(examples[0], samples.find((s) => s.file === 'mesh.yaml')?.objects[0]);
    assert.equal(
      csv.metadata.annotations['operatorframework.io/initialization-resource'],
      JSON.stringify(examples[0]),
    );
  });

  it('owns exactly the CRDs in crds/generated, Mesh first, each with its schema description', () => {
    const owned = csv.spec.customresourcedefinitions.owned;
    assert.equal(owned[0]?.kind, 'Mesh');
    assert.deepEqual(
      owned.map((o) => `${o.name}/${o.version}/${o.kind}`).sort(),
      crds.map((c) => `${c.metadata?.name}/${c.spec.versions[0]?.name}/${c.spec.names.kind}`).sort(),
    );
    for (const o of owned) {
      const crd = crds.find((c) => c.metadata?.name === o.name);
      assert.equal(o.description, crd?.spec.versions[0]?.schema?.openAPIV3Schema?.description);
    }
  });

  it("has descriptors whose paths exist in the CRD's schema, and selects offering only the schema's enum values", () => {
    for (const o of csv.spec.customresourcedefinitions.owned) {
      const crd = crds.find((c) => c.metadata?.name === o.name) as V1CustomResourceDefinition;
      const root = crd.spec.versions[0]?.schema?.openAPIV3Schema as SchemaNode;
      for (const [part, list] of [
        ['spec', o.specDescriptors],
        ['status', o.statusDescriptors],
      ] as const) {
        for (const descriptor of list) {
          const node = schemaAt(root.properties?.[part], descriptor.path);
          assert.ok(node, `${o.kind} .${part}.${descriptor.path} is not in the CRD schema`);
          const selects = descriptor['x-descriptors']
            .filter((x) => x.includes(':select:'))
            .map((x) => x.split(':select:')[1]);
          if (selects.length > 0) assert.deepEqual(selects.sort(), [...(node.enum ?? [])].sort());
        }
      }
      assert.ok(
        o.statusDescriptors.some((d) => d.path === 'conditions'),
        `${o.kind} shows its conditions`,
      );
    }
  });

  it('describes the Mesh with its conditions, state, observed generation and main settings', () => {
    const mesh = csv.spec.customresourcedefinitions.owned.find((o) => o.kind === 'Mesh');
    const status = new Map(mesh?.statusDescriptors.map((d) => [d.path, d['x-descriptors']]));
    assert.deepEqual(status.get('conditions'), ['urn:alm:descriptor:io.kubernetes.conditions']);
    assert.deepEqual(status.get('state'), ['urn:alm:descriptor:io.kubernetes.phase']);
    assert.ok(status.has('observedGeneration'));
    const spec = new Map(mesh?.specDescriptors.map((d) => [d.path, d['x-descriptors']]));
    assert.deepEqual(spec.get('controlPlane.replicas'), ['urn:alm:descriptor:com.tectonic.ui:podCount']);
    assert.deepEqual(spec.get('namespace'), ['urn:alm:descriptor:io.kubernetes:Namespace']);
  });

  it("installs the operator's Deployment and ClusterRole from cdk8s, bound to the Deployment's ServiceAccount", () => {
    const install = renderOperatorInstall({ version: inputs.version, includeNamespace: false });
    const { deployments, clusterPermissions, permissions } = csv.spec.install.spec;
    assert.equal(deployments.length, 1);
    assert.equal(deployments[0]?.name, 'weft-operator');
    const account = deployments[0]?.spec.template.spec?.serviceAccountName;
    assert.equal(account, 'weft-operator');
    assert.deepEqual(
      clusterPermissions.map((p) => p.serviceAccountName),
      [account],
    );
    const role = install.find((o) => o.kind === 'ClusterRole') as V1ClusterRole;
    assert.deepEqual(clusterPermissions[0]?.rules, role.rules);
    assert.equal(permissions, undefined);
    // OLM owns the namespace and creates the ServiceAccount and RBAC objects from the CSV.
    assert.ok(!JSON.stringify(csv.spec.install).includes('"namespace"'));
  });

  it('fails, naming the object, on an install object it would not know where to put', () => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'weft-operator-metrics' } };
    assert.throws(
      () => installStrategy([...inputs.install, service]),
      /Service weft-operator-metrics, which the CSV builder does not place/,
    );
  });

  it('supports the AllNamespaces install mode only', () => {
    const supported = csv.spec.installModes.filter((m) => m.supported).map((m) => m.type);
    assert.deepEqual(supported, ['AllNamespaces']);
    assert.equal(csv.spec.installModes.length, 4);
  });

  it('names the release, its image and its minimum Kubernetes, without a build timestamp', () => {
    assert.equal(csv.metadata.name, `weft.v${inputs.version}`);
    assert.equal(csv.spec.version, inputs.version);
    assert.equal(csv.spec.minKubeVersion, '1.29.0');
    assert.deepEqual(csv.spec.relatedImages, [{ name: 'weft', image: inputs.image }]);
    assert.equal(csv.metadata.annotations.containerImage, inputs.image);
    assert.equal(
      csv.spec.install.spec.deployments[0]?.spec.template.spec?.containers[0]?.image,
      inputs.image,
    );
    assert.equal(csv.metadata.annotations.createdAt, undefined);
    const icon = Buffer.from(csv.spec.icon[0]?.base64data ?? '', 'base64').toString('utf8');
    assert.match(icon, /^<svg /);
  });

  it('fails, naming the file to edit, for a CRD kind without descriptors', () => {
    const crd = structuredClone(crds[0]) as V1CustomResourceDefinition;
    crd.spec.names.kind = 'Telemetry';
    assert.throws(
      () => buildCsv({ ...inputs, crds: [crd] }),
      /kind Telemetry\) has no descriptors: add an entry for Telemetry to olm-bundle\/tools\/descriptors.ts/,
    );
    assert.ok(!('Telemetry' in DESCRIPTORS));
  });
});

describe('bundle files', () => {
  const files = renderBundle(inputs);

  it('are the same bytes on every render (no timestamps), and the CSV file is the CSV', () => {
    assert.deepEqual(renderBundle(readInputs()), files);
    const parsed = parse(
      files.get('manifests/weft.clusterserviceversion.yaml') ?? '',
    ) as ClusterServiceVersion;
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(csv)));
  });

  it('ship every CRD unchanged under manifests/', () => {
    for (const crd of crds) {
      const file = files.get(`manifests/${crd.spec.group}_${crd.spec.names.plural}.yaml`);
      assert.deepEqual(parse(file ?? ''), crd);
    }
  });

  it('label bundle.Dockerfile with exactly the annotations of metadata/annotations.yaml', () => {
    const annotations = (parse(files.get('metadata/annotations.yaml') ?? '') as { annotations: object })
      .annotations;
    const labels = Object.fromEntries(
      (files.get('bundle.Dockerfile') ?? '')
        .split('\n')
        .filter((l) => l.startsWith('LABEL '))
        .map((l) => l.slice('LABEL '.length).split('=') as [string, string]),
    );
    assert.deepEqual(labels, annotations);
    const { core, testing } = bundleAnnotations();
    assert.deepEqual(annotations, Object.fromEntries([...core, ...testing]));
  });
});
