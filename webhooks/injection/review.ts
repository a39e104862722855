import type { V1Pod } from '@kubernetes/client-node';
import { resourceLabel, type AdmissionReview } from '../admission.js';
import { injectPod, type InjectionOutcome } from './inject.js';
import type { InjectionSettings } from './settings.js';

type Response = NonNullable<AdmissionReview['response']>;

const answer = (response: Response): AdmissionReview => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response,
});

/**
 * Answers the injection webhook's AdmissionReview: a pod to inject is admitted with a JSON patch
 * (base64, as the API expects); one that is not to be injected is admitted unchanged; one with
 * unusable annotations is refused, naming the pod, the annotation and the fix. Without an active
 * Mesh there are no settings to inject with, and the pod is refused rather than admitted without
 * its proxy (the webhook fails closed, ADR 0004). Pure.
 */
export function reviewInjection(
  review: AdmissionReview,
  settings: InjectionSettings | undefined,
): { review: AdmissionReview; outcome?: InjectionOutcome } {
  const request = review.request;
  if (!request) throw new Error('AdmissionReview without a request');
  const uid = request.uid;
  const isPod = request.kind.group === '' && request.kind.kind === 'Pod';
  if (!isPod || request.operation !== 'CREATE' || !request.object)
    return { review: answer({ uid, allowed: true }) };
  const pod = request.object as V1Pod;
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  if (!settings) {
    const label = resourceLabel({ ...pod, metadata: { ...pod.metadata, namespace } }, 'Pod');
    const message = `${label} cannot be given a Weft proxy: no Mesh is active. Apply a Mesh, or remove the injection label from namespace ${namespace}.`;
    return {
      review: answer({ uid, allowed: false, status: { code: 503, reason: 'ServiceUnavailable', message } }),
    };
  }
  const outcome = injectPod(pod, namespace, settings);
  switch (outcome.kind) {
    case 'skipped':
      return { review: answer({ uid, allowed: true }), outcome };
    case 'refused':
      return {
        review: answer({
          uid,
          allowed: false,
          status: { code: 422, reason: 'Invalid', message: outcome.message },
        }),
        outcome,
      };
    case 'injected': {
      const patch = Buffer.from(JSON.stringify(outcome.patch)).toString('base64');
      return { review: answer({ uid, allowed: true, patchType: 'JSONPatch', patch }), outcome };
    }
  }
}
