import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A PEM certificate and its PEM private key. */
export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * How long a certificate is valid from now: whole days, or milliseconds for short-lived ones (the
 * control plane's renewed serving certificate, and the tests that watch it renew). X.509 keeps whole
 * seconds, so milliseconds are truncated.
 */
export type Validity = { readonly validDays: number } | { readonly validityMs: number };

export type CertificateRequest = Validity & {
  readonly commonName: string;
  readonly organization?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: 'ca' | 'server' | 'client';
};

/** Clock-skew allowance before now: a minute, but never more than a tenth of a short lifetime. */
const MAX_BACKDATE_MS = 60_000;

function lifetimeMs(validity: Validity): number {
  const ms = 'validityMs' in validity ? validity.validityMs : validity.validDays * 86_400_000;
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`certificate validity must be positive, not ${ms} ms`);
  return ms;
}

/** RSA keys come from Node's native crypto: node-forge's pure-JS key generation is far slower. */
export function generateRsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

/**
 * A positive 16-byte certificate serial in minimal DER form: the first byte is 0x01–0x7f, so it is
 * neither negative nor padded. (A `00` prefix before a byte below 0x80 is illegal DER padding, which
 * OpenSSL 3 refuses to parse: half of all serials made that way.)
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** Issues a certificate for `req`, signed by `issuer` (self-signed when no issuer is given). */
export function issueCertificate(req: CertificateRequest, issuer?: KeyPair): KeyPair {
  const keyPem = generateRsaKeyPem();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerialHex();
  const now = Date.now();
  const lifetime = lifetimeMs(req);
  cert.validity.notBefore = new Date(now - Math.min(MAX_BACKDATE_MS, lifetime / 10));
  cert.validity.notAfter = new Date(now + lifetime);

  const subject = [{ name: 'commonName', value: req.commonName }];
  if (req.organization) subject.push({ name: 'organizationName', value: req.organization });
  cert.setSubject(subject);

  const issuerCert = issuer ? forge.pki.certificateFromPem(issuer.certPem) : cert;
  cert.setIssuer(issuer ? issuerCert.subject.attributes : subject);
  cert.setExtensions([...extensionsFor(req), ...(issuer ? authorityKeyIdentifier(issuerCert) : [])]);

  const signingKey = issuer ? forge.pki.privateKeyFromPem(issuer.keyPem) : key;
  cert.sign(signingKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/**
 * The authorityKeyIdentifier extension naming `issuer`'s key (its subjectKeyIdentifier), or nothing
 * when the issuer has none. Without it, OpenSSL picks the issuer among trusted roots by subject name
 * alone, so during a root rotation, whose old and new roots may share a name, a certificate would be
 * checked against whichever comes first and fail (docs/root-ca-rotation.md).
 */
export function authorityKeyIdentifier(issuer: forge.pki.Certificate): object[] {
  const skid = (issuer.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null)
    ?.subjectKeyIdentifier;
  return skid ? [{ name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(skid) }] : [];
}

function extensionsFor(req: CertificateRequest): object[] {
  const extensions: object[] = [];
  if (req.usage === 'ca') {
    extensions.push({ name: 'basicConstraints', cA: true, critical: true });
    extensions.push({
      name: 'keyUsage',
      keyCertSign: true,
      cRLSign: true,
      digitalSignature: true,
      critical: true,
    });
    extensions.push({ name: 'subjectKeyIdentifier' });
    return extensions;
  }
  extensions.push({ name: 'basicConstraints', cA: false });
  extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
  extensions.push(
    req.usage === 'server'
      ? { name: 'extKeyUsage', serverAuth: true }
      : { name: 'extKeyUsage', clientAuth: true },
  );
  const altNames = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(req.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  return extensions;
}
