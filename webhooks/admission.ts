import type { KubernetesObject } from '@kubernetes/client-node';
import { describeProblems, type ValidationResult } from './validation/problems.js';

/** The parts of an admission.k8s.io/v1 AdmissionReview the webhooks read and write. */
export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: {
    uid: string;
    kind: { group: string; version: string; kind: string };
    operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    namespace?: string;
    name?: string;
    object?: KubernetesObject;
    oldObject?: KubernetesObject;
    dryRun?: boolean;
  };
  response?: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason: string; message: string };
    warnings?: string[];
    patchType?: 'JSONPatch';
    patch?: string;
  };
}

export type Validate = (obj: KubernetesObject) => ValidationResult;

/** `Kind namespace/name`, how every message names the resource. Pure. */
export function resourceLabel(obj: KubernetesObject | undefined, kind: string): string {
  const ns = obj?.metadata?.namespace;
  return `${kind} ${ns ? `${ns}/` : ''}${obj?.metadata?.name ?? obj?.metadata?.generateName ?? '(unnamed)'}`;
}

/**
 * Answers a validating AdmissionReview: refused with every error (field and fix) when the validator
 * finds any, admitted with warnings otherwise. Kinds without a validator are admitted. Pure.
 */
export function reviewValidation(
  review: AdmissionReview,
  validators: ReadonlyMap<string, Validate>,
): AdmissionReview {
  const request = review.request;
  if (!request) throw new Error('AdmissionReview without a request');
  const validate = validators.get(request.kind.kind);
  const obj = request.object;
  if (!validate || !obj || request.operation === 'DELETE') {
    return {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: request.uid, allowed: true },
    };
  }
  const objWithNamespace = {
    ...obj,
    metadata: { ...obj.metadata, namespace: obj.metadata?.namespace ?? request.namespace },
  };
  const label = resourceLabel(objWithNamespace, request.kind.kind);
  const result = validate(objWithNamespace);
  const warnings = describeProblems(label, result.warnings);
  if (result.errors.length === 0) {
    return {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: request.uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) },
    };
  }
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid: request.uid,
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: describeProblems(label, result.errors).join('; ') },
      ...(warnings.length > 0 ? { warnings } : {}),
    },
  };
}
