import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../config/config-error.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every PEM certificate in `pem`, in order, each on its own with a trailing newline. Pure. */
export function pemCertificates(pem: string): string[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => `${block}\n`);
}

/**
 * Checks a pushed trust bundle (`security.trustBundle`): each entry must be one PEM CA certificate,
 * since OpenSSL refuses a chain whose anchor is not a CA. Throws a ConfigError naming the entry, so
 * the NACK in proxy-status says which root to fix. Pure.
 */
export function checkTrustBundle(bundle: readonly string[]): void {
  bundle.forEach((pem, i) => {
    const path = `security.trustBundle[${i}]`;
    const blocks = pemCertificates(pem);
    if (blocks.length !== 1)
      throw new ConfigError(path, `expected one PEM certificate, found ${blocks.length}`);
    let root: X509Certificate;
    try {
      root = new X509Certificate(blocks[0]!);
    } catch (err) {
      throw new ConfigError(path, `not a certificate: ${(err as Error).message}`);
    }
    if (!root.ca)
      throw new ConfigError(
        path,
        `${root.subject.replace(/\n/g, ', ')} is not a CA certificate (basicConstraints CA:TRUE)`,
      );
  });
}

/** Whether two bundles trust the same roots in the same order (undefined: no bundle). Pure. */
export function sameTrustBundle(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((pem, i) => pem === b[i]);
}

/** SHA-256 fingerprints of the roots, for logs. */
export function fingerprints(roots: readonly string[]): string[] {
  return roots.flatMap((pem) =>
    pemCertificates(pem).map((block) => new X509Certificate(block).fingerprint256),
  );
}
