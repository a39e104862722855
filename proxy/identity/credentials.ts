import { X509Certificate } from 'node:crypto';
import {
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
  type SecureContextOptions,
} from 'node:tls';

/**
 * The proxy's workload credentials: its certificate chain (leaf first, root last, as the CA
 * issues it), its private key, and the mesh roots it trusts (the pushed trust bundle, or the root
 * it started with). The TLS contexts are built once per rotation or trust change, not per connection.
 */
export class Credentials {
  readonly spiffeId: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly context: SecureContext;

  constructor(
    readonly certChainPem: string,
    readonly keyPem: string,
    /** PEM roots a peer's chain must end at; an entry may hold several certificates. */
    readonly roots: readonly string[],
  ) {
    const leaf = new X509Certificate(certChainPem);
    const id = spiffeIdOf(leaf.subjectAltName);
    if (!id) throw new Error('the workload certificate carries no spiffe:// URI SAN');
    this.spiffeId = id;
    this.notBefore = Date.parse(leaf.validFrom);
    this.notAfter = Date.parse(leaf.validTo);
    this.context = createSecureContext(this.secureContextOptions());
  }

  /** What a TLS server or client presents and verifies peers against, as `tls` options. */
  secureContextOptions(): SecureContextOptions {
    return { cert: this.certChainPem, key: this.keyPem, ca: [...this.roots] };
  }

  /** The same certificate and key, trusting `roots` instead (a trust bundle change). */
  withRoots(roots: readonly string[]): Credentials {
    return new Credentials(this.certChainPem, this.keyPem, roots);
  }

  /** When to renew: at half-life, as Istio's agent does, so a CA outage has half a TTL to heal. */
  renewAt(): number {
    return this.notBefore + (this.notAfter - this.notBefore) / 2;
  }
}

/** The SPIFFE ID in a subjectAltName string (`URI:spiffe://td/ns/x/sa/y, DNS:...`). Pure. */
export function spiffeIdOf(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined;
  for (const part of subjectAltName.split(',')) {
    const entry = part.trim();
    if (entry.startsWith('URI:spiffe://')) return entry.slice(4);
  }
  return undefined;
}

/** The verified peer's SPIFFE ID, or undefined for a peer without a (valid) mesh certificate. */
export function peerSpiffeId(cert: PeerCertificate | undefined): string | undefined {
  return cert && 'subjectaltname' in cert ? spiffeIdOf(cert.subjectaltname) : undefined;
}

/** `cluster.local/ns/bookinfo/sa/reviews` → `bookinfo`, as AuthorizationPolicy `namespaces` reads it. */
export function namespaceOfSpiffeId(id: string | undefined): string | undefined {
  const m = id ? /\/ns\/([^/]+)\//.exec(id) : null;
  return m?.[1];
}
