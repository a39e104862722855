import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { randomSerialHex } from './issue.js';

/**
 * The mesh certificate authority's material, as Istio's plug-in CA Secret lays it out, whether the
 * operator generated it (selfSigned) or the user supplied it (existingSecret).
 */
export interface CaMaterial {
  /** The signing certificate (the root itself when self-signed). */
  readonly 'ca-cert.pem': string;
  readonly 'ca-key.pem': string;
  /**
   * The trust anchors proxies verify peers against: one root, or several during a root rotation
   * (docs/root-ca-rotation.md), the signing certificate chaining to one of them.
   */
  readonly 'root-cert.pem': string;
  /** The signing certificate's chain up to and including the root. */
  readonly 'cert-chain.pem': string;
}

export const CA_KEYS = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const;

/** A self-signed root for the mesh, valid for `ttlMs`. The key never leaves the returned material. */
export function createSelfSignedCa(trustDomain: string, ttlMs: number, now = new Date()): CaMaterial {
  const keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + ttlMs);
  const subject = [
    { name: 'organizationName', value: trustDomain },
    { name: 'commonName', value: 'Weft mesh root CA' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  return {
    'ca-cert.pem': certPem,
    'ca-key.pem': keyPem,
    'root-cert.pem': certPem,
    'cert-chain.pem': certPem,
  };
}

/** Why a CA Secret cannot be used; `reason` is a condition reason, `message` tells the user what to fix. */
export interface CaProblem {
  readonly reason: string;
  readonly message: string;
}

export interface RootSummary {
  readonly fingerprintSHA256: string;
  readonly notAfter: string;
}

export function summariseRoot(rootPem: string): RootSummary {
  const root = new X509Certificate(rootPem);
  return { fingerprintSHA256: root.fingerprint256, notAfter: new Date(root.validTo).toISOString() };
}

function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/**
 * Checks a plug-in CA Secret's data and returns its material, or the first problem found, precise
 * enough to fix from `kubectl describe mesh` alone. Pure: `secretRef` only names it in messages.
 */
export function validateCaSecret(
  secretRef: string,
  data: Record<string, string> | undefined,
  now = new Date(),
): { material: CaMaterial } | { problem: CaProblem } {
  const decoded: Partial<Record<(typeof CA_KEYS)[number], string>> = {};
  const missing = CA_KEYS.filter((key) => !data?.[key]);
  if (missing.length > 0) {
    return {
      problem: {
        reason: 'SecretMissingKeys',
        message: `Secret ${secretRef} lacks ${missing.join(', ')}; a plug-in CA Secret needs ${CA_KEYS.join(', ')} (PEM)`,
      },
    };
  }
  for (const key of CA_KEYS) decoded[key] = Buffer.from(data![key]!, 'base64').toString('utf8');
  const material = decoded as CaMaterial;

  const parsed: Record<string, X509Certificate[]> = {};
  for (const key of ['ca-cert.pem', 'root-cert.pem', 'cert-chain.pem'] as const) {
    try {
      parsed[key] = parseCertificates(material[key]);
    } catch (err) {
      return {
        problem: {
          reason: 'MalformedCertificate',
          message: `Secret ${secretRef} ${key}: ${(err as Error).message}`,
        },
      };
    }
    if (parsed[key].length === 0) {
      return {
        problem: {
          reason: 'MalformedCertificate',
          message: `Secret ${secretRef} ${key} holds no PEM certificate`,
        },
      };
    }
  }
  let key;
  try {
    key = createPrivateKey(material['ca-key.pem']);
  } catch (err) {
    return {
      problem: {
        reason: 'MalformedKey',
        message: `Secret ${secretRef} ca-key.pem: ${(err as Error).message}`,
      },
    };
  }
  const caCert = parsed['ca-cert.pem']![0]!;
  if (!caCert.ca) {
    return {
      problem: {
        reason: 'NotACertificateAuthority',
        message: `Secret ${secretRef} ca-cert.pem is not a CA certificate (basicConstraints CA:TRUE is required)`,
      },
    };
  }
  if (!caCert.checkPrivateKey(key)) {
    return {
      problem: {
        reason: 'KeyMismatch',
        message: `Secret ${secretRef} ca-key.pem is not the key of ca-cert.pem`,
      },
    };
  }
  if (new Date(caCert.validTo) <= now) return expired(secretRef, 'ca-cert.pem', caCert);
  // During a rotation root-cert.pem holds the old and the new root; the signing CA chains to one.
  const root = parsed['root-cert.pem']!.find((r) => chainsFromCaToRoot(parsed['cert-chain.pem']!, caCert, r));
  if (!root) {
    return {
      problem: {
        reason: 'ChainMismatch',
        message: `Secret ${secretRef} cert-chain.pem must start with ca-cert.pem and chain up to a root in root-cert.pem (ca-cert.pem, any intermediates, then the root)`,
      },
    };
  }
  if (new Date(root.validTo) <= now) return expired(secretRef, 'root-cert.pem', root);
  return { material };
}

function expired(secretRef: string, key: string, cert: X509Certificate): { problem: CaProblem } {
  return {
    problem: {
      reason: 'CertificateExpired',
      message: `Secret ${secretRef} ${key} expired on ${cert.validTo}`,
    },
  };
}

/**
 * Whether `chain` starts with the signing certificate, each entry is signed by the next, and the last
 * is the root or signed by it: otherwise workload certificates would not verify against the root.
 */
function chainsFromCaToRoot(
  chain: readonly X509Certificate[],
  caCert: X509Certificate,
  root: X509Certificate,
): boolean {
  if (chain[0]?.fingerprint256 !== caCert.fingerprint256) return false;
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (cert.fingerprint256 === root.fingerprint256) return cert.verify(root.publicKey);
    if (!cert.verify((chain[i + 1] ?? root).publicKey)) return false;
  }
  return true;
}
