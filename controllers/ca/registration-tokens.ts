import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { REGISTRATION_SECRET_NAME } from '../../cdk8s/names.js';

/**
 * Registration tokens: how a WorkloadEntry workload (a VM, outside Kubernetes) proves its identity
 * to the CA, where a pod would present its projected ServiceAccount token. They live in one Secret of
 * the mesh namespace, so the control plane needs read access to that Secret alone: each key is
 * `<namespace>.<serviceAccount>` and its value the token. A namespace has no dots, so the first dot
 * splits the key; a ServiceAccount name may have more.
 *
 * Tokens carry a prefix so the CA never sends one to TokenReview (the API server would log it as a
 * failed JWT), and so a leaked one is recognisable in a secret scanner.
 */

export const REGISTRATION_SECRET = REGISTRATION_SECRET_NAME;
export const TOKEN_PREFIX = 'weftreg_';

export interface RegisteredIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export const isRegistrationToken = (token: string): boolean => token.startsWith(TOKEN_PREFIX);

/** A fresh token: the prefix and 256 random bits. */
export function newRegistrationToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The Secret data key for an identity. */
export const registrationKey = (id: RegisteredIdentity): string => `${id.namespace}.${id.serviceAccount}`;

function identityOfKey(key: string): RegisteredIdentity | undefined {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1) return undefined;
  return { namespace: key.slice(0, dot), serviceAccount: key.slice(dot + 1) };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * The identity whose token `token` is, from the Secret's decoded data; undefined if none. Every entry
 * is compared, in constant time over equal-length digests, so timing tells nothing about which
 * entries exist or how much of a token matched. Pure.
 */
export function identityForToken(
  token: string,
  entries: Readonly<Record<string, string>>,
): RegisteredIdentity | undefined {
  const presented = digest(token);
  let found: RegisteredIdentity | undefined;
  for (const [key, value] of Object.entries(entries)) {
    const match = timingSafeEqual(presented, digest(value.trim()));
    const id = identityOfKey(key);
    if (match && id && !found) found = id;
  }
  return found;
}
