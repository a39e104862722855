import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, type Finding } from './analyze.js';
import { parseManifest } from './documents.js';
import { formatAnalysis, formatFinding } from './report.js';
import { fieldPath, loadKindSchemas } from './schemas.js';

const schemas = loadKindSchemas();

function analyzeYaml(yaml: string): { findings: readonly Finding[]; report: string } {
  const { objects, unreadable } = parseManifest(yaml, 'test.yaml');
  const analysis = analyze(objects, unreadable, schemas);
  return { findings: analysis.findings, report: formatAnalysis(analysis) };
}

const virtualService = (http: string): string => `apiVersion: networking.weft.dev/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
${http}`;

describe('weftctl analyze', () => {
  it('reports a webhook check with resource, field path, the fix and the document it came from', () => {
    const { findings } = analyzeYaml(
      virtualService(`    - route:
        - {destination: {host: reviews}, weight: 90}
        - {destination: {host: ratings}, weight: 20}`),
    );
    assert.equal(findings.length, 1);
    assert.equal(
      formatFinding(findings[0]!),
      'Error [VirtualService shop/reviews] spec.http[0].route: the weights add up to 110; they must add up to 100 (adjust them, e.g. 90 and 10) (test.yaml, document 1)',
    );
  });

  it('reports what the CRD schema refuses, with the offending value, and the webhook checks beside it', () => {
    const { findings } = analyzeYaml(
      virtualService(`    - match: [{uri: {regex: "(open"}}]
      timeout: 3x
      retries: {attemps: 3}
      route: [{destination: {host: reviews}}]`),
    );
    const byField = new Map(findings.map((f) => [f.field, f]));
    assert.match(byField.get('spec.http[0].timeout')!.message, /^"3x" must match pattern/);
    assert.match(byField.get('spec.http[0].retries.attemps')!.message, /not a field .*check its spelling/);
    assert.match(byField.get('spec.http[0].match[0].uri.regex')!.message, /not a valid regular expression/);
    assert.equal(
      findings.filter((f) => f.field === 'spec.http[0].timeout').length,
      1,
      'a field the schema refuses is reported once',
    );
  });

  it('uses the DestinationRules in the same input for the subset warning', () => {
    const route = virtualService('    - route: [{destination: {host: reviews, subset: v1}}]');
    const without = analyzeYaml(route);
    assert.deepEqual(
      without.findings.map((f) => [f.severity, f.field]),
      [['Warning', 'spec.http[0].route[0].destination.subset']],
    );
    const withRule = analyzeYaml(`${route}
---
apiVersion: networking.weft.dev/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}`);
    assert.deepEqual(withRule.findings, []);
    assert.equal(withRule.report, 'No problems found in 2 Weft resources.\n');
  });

  it('skips objects that are not Weft resources, flags Istio ones and unknown Weft kinds', () => {
    const { findings, report } = analyzeYaml(`apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Service, metadata: {name: reviews}}
  - {apiVersion: networking.istio.io/v1, kind: Gateway, metadata: {name: gw}, spec: {}}
---
apiVersion: networking.weft.dev/v1
kind: Telemetry
metadata: {name: t}`);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.resource, f.field]),
      [
        ['Warning', 'Gateway gw', 'apiVersion'],
        ['Error', 'Telemetry t', 'kind'],
      ],
    );
    assert.match(
      findings.find((f) => f.field === 'apiVersion')!.message,
      /change apiVersion to networking\.weft\.dev\/v1/,
    );
    assert.match(report, /1 error and 1 warning in 2 Weft resources \(1 other object skipped\)\.\n$/);
  });

  it('reports YAML it cannot read as an error, and keeps the documents it can', () => {
    const { findings } = analyzeYaml(`apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n: : x\n  - [`);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.severity, 'Error');
    assert.equal(findings[0]!.source, 'test.yaml, document 2');
    assert.match(findings[0]!.message, /^not valid YAML/);
  });

  it('lists errors before warnings in the report', () => {
    const { report } = analyzeYaml(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: a}
---
apiVersion: mesh.weft.dev/v1alpha1
kind: Mesh
metadata: {name: m}
spec: {namespace: Bad_NS}`);
    assert.match(
      report,
      /^Error \[Mesh m\] spec\.namespace: "Bad_NS" must match pattern .*\nWarning \[PeerAuthentication a\]/,
    );
  });

  it('writes JSON pointers as the field paths users write', () => {
    assert.equal(fieldPath('/spec/http/0/route/1/weight'), 'spec.http[0].route[1].weight');
    assert.equal(
      fieldPath('/metadata/labels/app.kubernetes.io~1name'),
      'metadata.labels.app.kubernetes.io/name',
    );
    assert.equal(fieldPath(''), '');
  });
});
