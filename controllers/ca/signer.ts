import forge from 'node-forge';
import { authorityKeyIdentifier, randomSerialHex } from './issue.js';

/** A workload identity, taken from the authenticated caller, never from the CSR. */
export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export const spiffeUri = (id: WorkloadIdentity): string =>
  `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;

export interface SigningCa {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA's own chain up to the root (cert-chain.pem), appended to every issued certificate. */
  readonly chainPem: string;
}

/** Why a CSR is refused; `reason` is a metric label, `message` goes back to the caller. */
export class CsrRefused extends Error {
  constructor(
    readonly reason: 'malformed' | 'bad-signature' | 'foreign-identity',
    message: string,
  ) {
    super(message);
  }
}

/** URI SANs a CSR asks for (PKCS#10 extensionRequest). */
function requestedUris(csr: forge.pki.CertificateSigningRequest): string[] {
  const ext = csr.getAttribute({ name: 'extensionRequest' }) as {
    extensions?: { name: string; altNames?: { type: number; value: string }[] }[];
  } | null;
  const san = ext?.extensions?.find((e) => e.name === 'subjectAltName');
  return (san?.altNames ?? []).filter((a) => a.type === 6).map((a) => a.value);
}

/**
 * Signs a workload CSR: the certificate carries the caller's SPIFFE ID as its only URI SAN, whatever
 * the CSR asks for, and lives `ttlMs`. A CSR that asks for another identity is refused rather than
 * silently corrected, so a confused or malicious workload is noticed. Pure but for randomness.
 */
export function signWorkloadCsr(
  csrPem: string,
  identity: WorkloadIdentity,
  ca: SigningCa,
  ttlMs: number,
  now = new Date(),
): string {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new CsrRefused(
      'malformed',
      `not a PEM certificate signing request (RSA keys only): ${(err as Error).message}`,
    );
  }
  if (!csr.verify()) throw new CsrRefused('bad-signature', 'the CSR is not signed by the key it carries');
  const uri = spiffeUri(identity);
  const foreign = requestedUris(csr).filter((u) => u !== uri);
  if (foreign.length > 0) {
    throw new CsrRefused(
      'foreign-identity',
      `the caller is ${uri} and cannot get a certificate for ${foreign.join(', ')}`,
    );
  }

  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = csr.publicKey!;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + ttlMs);
  cert.setSubject([{ name: 'organizationName', value: identity.trustDomain }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: uri }] },
    ...authorityKeyIdentifier(caCert),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert) + ca.chainPem;
}
