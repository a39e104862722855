import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { CA_SECRET_NAME, meshLabels } from '../../cdk8s/names.js';
import type { DefaultedMeshSpec } from '../../crds/defaults.js';
import {
  CA_KEYS,
  createSelfSignedCa,
  summariseRoot,
  validateCaSecret,
  type RootSummary,
} from '../ca/ca-material.js';
import type { Applier } from '../runtime/apply.js';
import { statusCodeOf } from '../runtime/apply.js';

export type CaOutcome =
  | {
      readonly ready: true;
      readonly reason: 'SelfSigned' | 'ExistingSecret';
      readonly message: string;
      readonly rootPem: string;
      readonly secretName: string;
      readonly root: RootSummary;
      /** Set when this reconcile generated a new root. */
      readonly created?: boolean;
    }
  | { readonly ready: false; readonly reason: string; readonly message: string };

/** Go-style duration (e.g. 87600h, 90m) to milliseconds; the CRD pattern already guarantees the form. */
export function durationMs(value: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/([0-9.]+)(ns|us|ms|s|m|h)/g))
    total += Number(amount) * units[unit!]!;
  return total;
}

/**
 * Resolves the mesh CA. A self-signed root is generated once and stored in a Secret that is created,
 * never overwritten: replacing it would invalidate every workload certificate. Its key is never
 * logged or put in status. A plug-in Secret is validated, and a problem with it is reported as a
 * condition, breaking nothing else.
 */
export async function resolveCertificateAuthority(
  applier: Applier,
  meshName: string,
  ownerReferences: V1OwnerReference[],
  spec: DefaultedMeshSpec,
): Promise<CaOutcome> {
  const namespace = spec.namespace;
  const existing = spec.security.certificateAuthority?.existingSecret;
  const secretName = existing?.name ?? CA_SECRET_NAME;
  const ref = `${namespace}/${secretName}`;
  const secret = await applier.read<V1Secret>({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace },
  });

  if (existing) {
    if (!secret) {
      return {
        ready: false,
        reason: 'SecretNotFound',
        message: `plug-in CA Secret ${ref} does not exist; create it with ${CA_KEYS.join(', ')}, or use certificateAuthority.selfSigned`,
      };
    }
    const checked = validateCaSecret(ref, secret.data);
    if ('problem' in checked) return { ready: false, ...checked.problem };
    const rootPem = checked.material['root-cert.pem'];
    return {
      ready: true,
      reason: 'ExistingSecret',
      message: `using plug-in CA Secret ${ref}`,
      rootPem,
      secretName,
      root: summariseRoot(rootPem),
    };
  }

  if (secret) {
    const checked = validateCaSecret(ref, secret.data);
    if ('problem' in checked) {
      return {
        ready: false,
        reason: checked.problem.reason,
        message: `${checked.problem.message}; delete Secret ${ref} to have a new root generated (existing workload certificates stop verifying)`,
      };
    }
    const rootPem = checked.material['root-cert.pem'];
    return {
      ready: true,
      reason: 'SelfSigned',
      message: `self-signed root in Secret ${ref}`,
      rootPem,
      secretName,
      root: summariseRoot(rootPem),
    };
  }

  const ttl = durationMs(spec.security.certificateAuthority?.selfSigned?.rootTTL ?? '87600h');
  const material = createSelfSignedCa(spec.security.trustDomain ?? 'cluster.local', ttl);
  try {
    await applier.api.create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: secretName,
        namespace,
        labels: meshLabels(meshName, 'certificate-authority', spec.version),
        ownerReferences,
      },
      data: Object.fromEntries(
        Object.entries(material).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
    });
  } catch (err) {
    // Another reconcile (or a previous operator) won the race: use what is stored, next time round.
    if (statusCodeOf(err) === 409)
      return { ready: false, reason: 'Creating', message: `Secret ${ref} is being created` };
    throw err;
  }
  const rootPem = material['root-cert.pem'];
  return {
    ready: true,
    reason: 'SelfSigned',
    message: `self-signed root in Secret ${ref}`,
    rootPem,
    secretName,
    root: summariseRoot(rootPem),
    created: true,
  };
}
