import { X509Certificate } from 'node:crypto';
import type { CertificateFact } from './facts.js';

const DAY_MS = 86_400_000;

/** The first certificate of a PEM bundle, summarised; undefined when there is none. Pure. */
export function certificateFact(pem: string): CertificateFact | undefined {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (!first) return undefined;
  try {
    const cert = new X509Certificate(first);
    return {
      subject: cert.subject.replace(/\n/g, ', '),
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
      fingerprint256: cert.fingerprint256,
    };
  } catch {
    return undefined;
  }
}

export type Validity =
  | { readonly state: 'not-yet-valid'; readonly from: string }
  | { readonly state: 'expired'; readonly daysAgo: number }
  | { readonly state: 'valid'; readonly daysLeft: number };

/** Whether a certificate is valid at `now`, and for how many whole days more. Pure. */
export function validity(cert: CertificateFact, now: string): Validity {
  const at = new Date(now).getTime();
  if (new Date(cert.notBefore).getTime() > at) return { state: 'not-yet-valid', from: cert.notBefore };
  const left = new Date(cert.notAfter).getTime() - at;
  if (left <= 0) return { state: 'expired', daysAgo: Math.floor(-left / DAY_MS) };
  return { state: 'valid', daysLeft: Math.floor(left / DAY_MS) };
}
