import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { AdmissionReview } from '../admission.js';
import { reviewInjection } from './review.js';
import { injectionSettings } from './settings.js';

const settings = injectionSettings({
  apiVersion: 'mesh.weft.dev/v1alpha1',
  kind: 'Mesh',
  metadata: { name: 'mesh' },
  spec: {},
});

const pod = (annotations: Record<string, string> = {}): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', labels: { app: 'web' }, annotations },
  spec: { containers: [{ name: 'web', image: 'shop/web' }] },
});

function review(
  object: object,
  overrides: Partial<NonNullable<AdmissionReview['request']>> = {},
): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'uid-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'shop',
      object: object,
      ...overrides,
    },
  };
}

const decodePatch = (answer: AdmissionReview): Operation[] =>
  JSON.parse(Buffer.from(answer.response?.patch ?? '', 'base64').toString('utf8')) as Operation[];

describe('the injection AdmissionReview', () => {
  it('admits a pod with a base64 JSONPatch that adds the proxy', () => {
    const { review: answer } = reviewInjection(review(pod()), settings);
    assert.equal(answer.response?.uid, 'uid-1');
    assert.equal(answer.response?.allowed, true);
    assert.equal(answer.response?.patchType, 'JSONPatch');
    const patched = fastJsonPatch.applyPatch(pod(), decodePatch(answer), true, false).newDocument;
    assert.deepEqual(
      patched.spec?.initContainers?.map((c) => c.name),
      ['weft-init', 'weft-proxy'],
    );
  });

  it('admits the injected pod sent again unchanged: re-injection is a no-op', () => {
    const first = reviewInjection(review(pod()), settings).review;
    const injected = fastJsonPatch.applyPatch(pod(), decodePatch(first), true, false).newDocument;
    const { review: again, outcome } = reviewInjection(review(injected), settings);
    assert.deepEqual(again.response, { uid: 'uid-1', allowed: true });
    assert.equal(outcome?.kind, 'skipped');
  });

  it('admits an opted-out pod without a patch', () => {
    const optedOut = {
      ...pod(),
      metadata: { generateName: 'web-', labels: { 'sidecar.weft.dev/inject': 'false' } },
    };
    assert.deepEqual(reviewInjection(review(optedOut), settings).review.response, {
      uid: 'uid-1',
      allowed: true,
    });
  });

  it('refuses a pod with a bad annotation with 422, naming the pod, the annotation and the fix', () => {
    const bad = pod({ 'sidecar.weft.dev/proxyCPU': 'fast' });
    const response = reviewInjection(review(bad), settings).review.response;
    assert.equal(response?.allowed, false);
    assert.equal(response?.status?.code, 422);
    assert.match(
      response?.status?.message ?? '',
      /Pod shop\/web- .*sidecar\.weft\.dev\/proxyCPU: "fast".*quantity such as "100m"/,
    );
    assert.equal(response?.patch, undefined);
  });

  it('refuses pods while no Mesh is active, rather than admit them without a proxy', () => {
    const response = reviewInjection(review(pod()), undefined).review.response;
    assert.equal(response?.allowed, false);
    assert.match(
      response?.status?.message ?? '',
      /Pod shop\/web- cannot be given a Weft proxy: no Mesh is active/,
    );
  });

  it('admits what is not a pod creation untouched', () => {
    for (const request of [
      review(pod(), { operation: 'UPDATE' }),
      review({ kind: 'ConfigMap' }, { kind: { group: '', version: 'v1', kind: 'ConfigMap' } }),
    ]) {
      assert.deepEqual(reviewInjection(request, settings).review.response, { uid: 'uid-1', allowed: true });
    }
  });
});
