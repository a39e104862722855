import forge from 'node-forge';

/**
 * The proxy's side of certificate issuance: a CSR for its own key (which never leaves the proxy).
 * The CA takes the identity from the caller's token, not from here; `spiffeId`, when given, is only
 * a claim the CA checks against the caller (a CSR for someone else's identity is refused).
 */
export function createCsr(keyPem: string, spiffeId?: string): string {
  const key = forge.pki.privateKeyFromPem(keyPem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  csr.setSubject([{ name: 'organizationName', value: 'weft' }]);
  if (spiffeId) {
    csr.setAttributes([
      {
        name: 'extensionRequest',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: spiffeId }] }],
      },
    ]);
  }
  csr.sign(key, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}
