import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { generateRsaKeyPem, issueCertificate } from '../../controllers/ca/issue.js';
import { CsrRefused, signWorkloadCsr, type SigningCa } from '../../controllers/ca/signer.js';
import { createCsr } from '../../proxy/identity/csr.js';
import { round, summariseLatencies } from './latency.js';
import type { BenchOptions, SuiteResult } from './suite.js';

/**
 * The ca suite: how fast the control plane's CA signs workload CSRs (controllers/ca/signer.ts, as
 * POST /weft.ca.v1/certificates runs it after the token review), with CSRs made beforehand the way
 * proxies make them; and, apart, what a proxy spends making its key and CSR (proxy/identity/csr.ts).
 * Native crypto signatures are listed as a reference for what the signing itself could cost.
 */

const IDENTITY = { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'bench' };
const TTL_MS = 24 * 3_600_000;

function timed<T>(work: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = work();
  return { value, ms: performance.now() - started };
}

/** Proxy side: a native RSA 2048 key, then a CSR for it (node-forge). */
function proxySide(count: number): { keys: string[]; csrs: string[]; keygenMs: number[]; csrMs: number[] } {
  const keys: string[] = [];
  const csrs: string[] = [];
  const keygenMs: number[] = [];
  const csrMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const key = timed(() => generateRsaKeyPem());
    const csr = timed(() => createCsr(key.value));
    keys.push(key.value);
    csrs.push(csr.value);
    keygenMs.push(key.ms);
    csrMs.push(csr.ms);
  }
  return { keys, csrs, keygenMs, csrMs };
}

/** Signs `count` certificates, cycling over the pre-made CSRs; per-certificate times. */
function signAll(csrs: readonly string[], ca: SigningCa, count: number): number[] {
  for (const csr of csrs.slice(0, 3)) signWorkloadCsr(csr, IDENTITY, ca, TTL_MS); // JIT warm-up
  const times: number[] = [];
  for (let i = 0; i < count; i++)
    times.push(timed(() => signWorkloadCsr(csrs[i % csrs.length]!, IDENTITY, ca, TTL_MS)).ms);
  return times;
}

/**
 * An ECDSA P-256 CSR (made with openssl: the proxy's CSR code takes RSA keys only), offered to the
 * signer. Returns whether it signed, and why not.
 */
function ecdsaSupport(ca: SigningCa): { supported: boolean; why: string } {
  const csr = spawnSync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      '/O=weft',
    ],
    { encoding: 'utf8' },
  );
  if (csr.status !== 0)
    return { supported: false, why: `could not make an ECDSA CSR with openssl: ${csr.stderr}` };
  try {
    signWorkloadCsr(csr.stdout, IDENTITY, ca, TTL_MS);
    return { supported: true, why: 'signed' };
  } catch (err) {
    const reason = err instanceof CsrRefused ? `${err.reason}: ${err.message}` : String(err);
    return { supported: false, why: reason.replace(/\.+$/, '') };
  }
}

/** Signatures per second of Node's native (OpenSSL) crypto over a certificate-sized message. */
function nativeSignaturesPerSecond(type: 'rsa' | 'ec', count: number): number {
  const { privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tbs = Buffer.alloc(800, 7);
  const { ms } = timed(() => {
    for (let i = 0; i < count; i++) sign('sha256', tbs, privateKey);
  });
  return round((count / ms) * 1000);
}

export function caSuite({ quick }: BenchOptions): Promise<SuiteResult> {
  const signCount = quick ? 200 : 1000;
  const csrCount = quick ? 20 : 50;
  const root = issueCertificate({ commonName: 'weft bench root', usage: 'ca', validDays: 1 });
  const ca: SigningCa = { certPem: root.certPem, keyPem: root.keyPem, chainPem: root.certPem };
  const proxy = proxySide(csrCount);
  const started = performance.now();
  const signMs = signAll(proxy.csrs, ca, signCount);
  const elapsedMs = performance.now() - started;
  const signing = summariseLatencies(signMs);
  const ecdsa = ecdsaSupport(ca);
  const keygen = summariseLatencies(proxy.keygenMs);
  const csr = summariseLatencies(proxy.csrMs);
  return Promise.resolve({
    suite: 'ca',
    notes: [
      `${signCount} certificates signed in a row, in one process, cycling over ${csrCount} CSRs made beforehand (RSA 2048 workload keys, as proxies make them); the CA key is RSA 2048. Each signing parses and verifies the CSR, builds and signs the certificate with node-forge (pure JavaScript), and appends the chain.`,
      `ECDSA P-256: ${ecdsa.supported ? 'signed' : `not supported: ${ecdsa.why}`}. The proxy's CSR code (proxy/identity/csr.ts) and the CA (node-forge) handle RSA keys only, so only RSA 2048 is measured.`,
      'proxy side, per proxy start and renewal: RSA 2048 key generation (Node native crypto) and the CSR (node-forge), measured apart from signing.',
      'reference_native_*: signatures per second of Node native crypto (OpenSSL) over a certificate-sized message, for what the signing step alone could cost.',
      'Shared 2-core machine: other processes may run at the same time.',
    ],
    metrics: {
      rsa2048_certificates_per_s: round((signCount / elapsedMs) * 1000, 1),
      rsa2048_sign_ms_p50: signing.p50_ms,
      rsa2048_sign_ms_p99: signing.p99_ms,
      ecdsa_p256_supported: ecdsa.supported ? 1 : 0,
      proxy_rsa2048_keygen_ms_p50: keygen.p50_ms,
      proxy_rsa2048_keygen_ms_p99: keygen.p99_ms,
      proxy_csr_ms_p50: csr.p50_ms,
      proxy_csr_ms_p99: csr.p99_ms,
      reference_native_rsa2048_signatures_per_s: nativeSignaturesPerSecond('rsa', quick ? 200 : 1000),
      reference_native_ecdsa_p256_signatures_per_s: nativeSignaturesPerSecond('ec', quick ? 1000 : 5000),
    },
  });
}
