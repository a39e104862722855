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
import { parseDuration } from '../translate/durations.js';
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

/** A ready outcome for the CA material read from (or written to) Secret `ref`. */
function ready(
  reason: 'SelfSigned' | 'ExistingSecret',
  ref: string,
  secretName: string,
  rootPem: string,
): CaOutcome {
  const message =
    reason === 'SelfSigned' ? `self-signed root in Secret ${ref}` : `using plug-in CA Secret ${ref}`;
  return { ready: true, reason, message, rootPem, secretName, root: summariseRoot(rootPem) };
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
    return ready('ExistingSecret', ref, secretName, checked.material['root-cert.pem']);
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
    return ready('SelfSigned', ref, secretName, checked.material['root-cert.pem']);
  }

  return createSelfSignedSecret(applier, meshName, ownerReferences, spec, secretName);
}

/** Generates the self-signed root and stores it, create-only. */
async function createSelfSignedSecret(
  applier: Applier,
  meshName: string,
  ownerReferences: V1OwnerReference[],
  spec: DefaultedMeshSpec,
  secretName: string,
): Promise<CaOutcome> {
  const namespace = spec.namespace;
  const ref = `${namespace}/${secretName}`;
  const ttl =
    parseDuration(spec.security.certificateAuthority?.selfSigned?.rootTTL ?? '87600h') ?? 87_600 * 3_600_000;
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
  return { ...ready('SelfSigned', ref, secretName, material['root-cert.pem']), created: true } as CaOutcome;
}
