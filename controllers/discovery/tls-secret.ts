import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { TlsSecret } from '../../proxy/config/generated/proxy-config.js';

/**
 * A Gateway server's credential, as Istio reads it for `tls.credentialName`: Secret `<name>` in the
 * gateway workload's namespace, of type kubernetes.io/tls or Opaque, with `tls.crt` and `tls.key`;
 * for MUTUAL the client CA from `ca.crt` in the same Secret or else from Secret `<name>-cacert`
 * (key `ca.crt`). Pure.
 */

/** The suffix of the Secret that holds a credential's client CA when its own Secret does not. */
export const CA_SECRET_SUFFIX = '-cacert';
const KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;
const TYPES = new Set(['kubernetes.io/tls', 'Opaque']);

export type TlsSecretResult =
  | { readonly ok: true; readonly secret: TlsSecret }
  | {
      readonly ok: false;
      /** The missing or unusable key, when there is one (`tls.crt`, `tls.key`, `ca.crt`). */
      readonly key?: string;
      readonly error: string;
    };

const decode = (secret: V1Secret | undefined, key: string): string | undefined => {
  const value = secret?.data?.[key] ?? secret?.stringData?.[key];
  if (value === undefined) return undefined;
  return secret?.data?.[key] !== undefined ? Buffer.from(value, 'base64').toString('utf8') : value;
};

const fail = (error: string, key?: string): TlsSecretResult => ({
  ok: false,
  error,
  ...(key ? { key } : {}),
});

function certificatesIn(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * The credential `name` in `namespace` from its Secret (undefined: not found) and, for MUTUAL
 * without `ca.crt` of its own, the `<name>-cacert` Secret. Checks what a proxy would otherwise refuse
 * later: PEM that parses, a key that belongs to the certificate, a CA for MUTUAL. Errors name the
 * Secret, the key and what to do.
 */
export function tlsSecretFrom(
  namespace: string,
  name: string,
  secret: V1Secret | undefined,
  options: { readonly mutual: boolean; readonly caSecret?: V1Secret },
): TlsSecretResult {
  const ref = `Secret ${namespace}/${name}`;
  if (!secret)
    return fail(
      `${ref} not found: create it in the gateway's namespace with keys ${KEYS.cert} and ${KEYS.key} (kubectl create secret tls ${name} -n ${namespace} --cert=... --key=...)`,
    );
  const type = secret.type ?? 'Opaque';
  if (!TYPES.has(type))
    return fail(`${ref} has type ${type}; a gateway credential is of type kubernetes.io/tls or Opaque`);
  const certificateChain = decode(secret, KEYS.cert);
  const privateKey = decode(secret, KEYS.key);
  if (!certificateChain?.trim())
    return fail(
      `${ref} has no key "${KEYS.cert}": add the PEM certificate chain under data.${KEYS.cert}`,
      KEYS.cert,
    );
  if (!privateKey?.trim())
    return fail(`${ref} has no key "${KEYS.key}": add the PEM private key under data.${KEYS.key}`, KEYS.key);
  const problem = keyPairProblem(ref, certificateChain, privateKey);
  if (problem) return problem;
  const ca = clientCa(namespace, name, secret, options);
  if (!ca.ok) return ca;
  return {
    ok: true,
    secret: { name, certificateChain, privateKey, ...(ca.pem ? { caCertificates: ca.pem } : {}) },
  };
}

/** Whether the chain parses and the key is the leaf certificate's. */
function keyPairProblem(
  ref: string,
  certificateChain: string,
  privateKey: string,
): TlsSecretResult | undefined {
  let leaf: X509Certificate | undefined;
  try {
    leaf = certificatesIn(certificateChain)[0];
  } catch (err) {
    return fail(
      `${ref} key "${KEYS.cert}" is not a PEM certificate chain: ${(err as Error).message}`,
      KEYS.cert,
    );
  }
  if (!leaf) return fail(`${ref} key "${KEYS.cert}" holds no PEM certificate`, KEYS.cert);
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(privateKey)))
      return fail(
        `${ref} key "${KEYS.key}" is not the private key of the certificate in "${KEYS.cert}"`,
        KEYS.key,
      );
  } catch (err) {
    return fail(`${ref} key "${KEYS.key}" is not a PEM private key: ${(err as Error).message}`, KEYS.key);
  }
  return undefined;
}

/** The client CA: `ca.crt` of the Secret, else of `<name>-cacert`; required for MUTUAL. */
function clientCa(
  namespace: string,
  name: string,
  secret: V1Secret,
  options: { readonly mutual: boolean; readonly caSecret?: V1Secret },
): { ok: true; pem?: string } | Extract<TlsSecretResult, { ok: false }> {
  const own = decode(secret, KEYS.ca);
  const [pem, where] = own?.trim()
    ? [own, `Secret ${namespace}/${name}`]
    : [decode(options.caSecret, KEYS.ca), `Secret ${namespace}/${name}${CA_SECRET_SUFFIX}`];
  if (!pem?.trim()) {
    if (!options.mutual) return { ok: true };
    return {
      ok: false,
      key: KEYS.ca,
      error: `Secret ${namespace}/${name} has no key "${KEYS.ca}" and Secret ${namespace}/${name}${CA_SECRET_SUFFIX} has none either: a MUTUAL server needs the CA that client certificates chain to; add it under data.${KEYS.ca} of either Secret`,
    };
  }
  try {
    if (certificatesIn(pem).length > 0) return { ok: true, pem };
    return { ok: false, key: KEYS.ca, error: `${where} key "${KEYS.ca}" holds no PEM certificate` };
  } catch (err) {
    return {
      ok: false,
      key: KEYS.ca,
      error: `${where} key "${KEYS.ca}" is not PEM certificates: ${(err as Error).message}`,
    };
  }
}

/** The configuration without private keys, for every debug output (Envoy redacts them too). Pure. */
export function redactSecrets<T extends { secrets?: TlsSecret[] }>(config: T): T {
  if (!config.secrets) return config;
  return { ...config, secrets: config.secrets.map((s) => ({ ...s, privateKey: '[redacted]' })) };
}
