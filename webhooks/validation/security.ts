import type { AuthorizationPolicy } from '../../crds/generated/types/authorizationpolicy.js';
import type { PeerAuthentication } from '../../crds/generated/types/peerauthentication.js';
import { Problems, type ValidationResult } from './problems.js';
import { checkCidr } from './syntax.js';

/** Attributes an AuthorizationPolicy `when` condition may test, as Istio names them. */
const CONDITION_KEYS = [
  /^request\.headers\[[^\]]+\]$/,
  /^source\.(ip|namespace|principal)$/,
  /^remote\.ip$/,
  /^destination\.(ip|port)$/,
  /^connection\.sni$/,
];

export function validatePeerAuthentication(pa: PeerAuthentication): ValidationResult {
  const p = new Problems();
  if (pa.spec?.mtls?.mode === 'DISABLE' && !pa.spec.selector) {
    p.warn(
      'spec.mtls.mode',
      'DISABLE for a whole namespace or the mesh turns off mTLS for every workload there; prefer PERMISSIVE while migrating',
    );
  }
  return p.result();
}

/**
 * AuthorizationPolicy beyond the schema. Features Weft does not implement are refused rather than
 * accepted and ignored: an ignored DENY rule would fail open.
 */
export function validateAuthorizationPolicy(ap: AuthorizationPolicy): ValidationResult {
  const p = new Problems();
  const spec = ap.spec ?? {};
  if (spec.action === 'CUSTOM')
    p.error(
      'spec.action',
      'CUSTOM needs an external authorizer, which Weft does not have; use ALLOW or DENY',
    );
  if (spec.targetRef || spec.targetRefs)
    p.error(
      spec.targetRef ? 'spec.targetRef' : 'spec.targetRefs',
      'Weft selects workloads with spec.selector; targetRef is not supported',
    );
  (spec.rules ?? []).forEach((rule, i) => {
    (rule.from ?? []).forEach(({ source }, j) => {
      const f = `spec.rules[${i}].from[${j}].source`;
      if (source.requestPrincipals || source.notRequestPrincipals) {
        p.error(
          `${f}.requestPrincipals`,
          'request principals need JWT authentication, which Weft does not have yet; match principals (workload identities) instead',
        );
      }
      for (const key of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) {
        (source[key] ?? []).forEach((block, k) => checkCidr(p, `${f}.${key}[${k}]`, block));
      }
    });
    (rule.to ?? []).forEach(({ operation }, j) => {
      for (const key of ['paths', 'notPaths'] as const) {
        (operation[key] ?? []).forEach((path, k) => {
          if (path !== '*' && !path.startsWith('/') && !path.startsWith('*')) {
            p.error(
              `spec.rules[${i}].to[${j}].operation.${key}[${k}]`,
              `"${path}" must start with / (or be a * pattern such as */admin)`,
            );
          }
        });
      }
    });
    (rule.when ?? []).forEach((c, j) => {
      if (!CONDITION_KEYS.some((re) => re.test(c.key))) {
        p.error(
          `spec.rules[${i}].when[${j}].key`,
          `"${c.key}" is not a supported attribute; use request.headers[<name>], source.ip, source.namespace, source.principal, remote.ip, destination.ip, destination.port or connection.sni`,
        );
      }
    });
  });
  return p.result();
}
