import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import type { Logger } from 'pino';
import { createCsr } from './csr.js';
import { Credentials } from './credentials.js';
import { checkTrustBundle, fingerprints, sameTrustBundle } from './trust-bundle.js';

/** Where the proxy's identity comes from. */
export type IdentitySource =
  /** Certificate files (standalone mode, benchmarks, tests that bring their own PKI). */
  | { kind: 'files'; certChain: string; key: string; root: string }
  /** The control plane's CA: a CSR for a key made here, authenticated by a ServiceAccount token. */
  | { kind: 'ca'; url: string; root: string; tokenFile: string }
  | { kind: 'none' };

export const CSR_PATH = '/weft.ca.v1/certificates';

/**
 * The proxy's workload identity. With a CA it makes its own RSA key (never sent anywhere), asks
 * for a certificate, and renews at half-life; a rotation swaps the TLS contexts for new
 * connections and leaves established ones alone, so renewal drops nothing. A trust bundle pushed
 * with the configuration replaces the root it started with in the same way (docs/root-ca-rotation.md).
 */
export class WorkloadIdentity {
  private credentials: Credentials | undefined;
  /** The root from `--root-cert`, as last read: trusted while no trust bundle is pushed. */
  private configuredRoot = '';
  private trustBundle: readonly string[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((c: Credentials) => void)[] = [];
  private stopped = false;

  constructor(
    private readonly source: IdentitySource,
    private readonly log: Logger,
  ) {}

  current(): Credentials | undefined {
    return this.credentials;
  }

  onRotate(listener: (c: Credentials) => void): void {
    this.listeners.push(listener);
  }

  /** Loads or obtains the first certificate; retries with backoff until it succeeds or stop(). */
  async start(): Promise<void> {
    if (this.source.kind === 'none') return;
    if (this.source.kind === 'files') {
      const s = this.source;
      this.configuredRoot = readFileSync(s.root, 'utf8');
      this.install(
        new Credentials(readFileSync(s.certChain, 'utf8'), readFileSync(s.key, 'utf8'), this.roots()),
      );
      return;
    }
    await this.renew(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Prepares trusting `bundle` (the configured root again when undefined): checks it and builds the
   * new TLS contexts, and returns what installs them, so a configuration swap can apply it together
   * with everything else or, when it throws (a ConfigError: the push is NACKed), not at all.
   */
  prepareTrustBundle(bundle: readonly string[] | undefined): () => void {
    if (sameTrustBundle(bundle, this.trustBundle)) return () => undefined;
    if (bundle) checkTrustBundle(bundle);
    const roots = bundle ?? [this.configuredRoot];
    const next = this.credentials?.withRoots(roots);
    return () => {
      this.trustBundle = bundle;
      this.log.info(
        { roots: fingerprints(roots), source: bundle ? 'trust bundle' : 'root certificate file' },
        'trusted mesh roots changed; new connections verify peers against them',
      );
      if (next) this.install(next);
    };
  }

  /** The roots a peer's certificate must chain to: the pushed bundle, else the configured root. */
  private roots(): readonly string[] {
    return this.trustBundle ?? [this.configuredRoot];
  }

  private async renew(failures: number): Promise<void> {
    if (this.source.kind !== 'ca' || this.stopped) return;
    try {
      const issued = await requestCertificate(this.source, this.trustBundle);
      this.configuredRoot = issued.root;
      const creds = new Credentials(issued.certChain, issued.keyPem, this.roots());
      this.install(creds);
      this.log.info(
        { identity: creds.spiffeId, notAfter: new Date(creds.notAfter).toISOString() },
        'workload certificate issued',
      );
      this.schedule(creds.renewAt() - Date.now(), 0);
    } catch (err) {
      const delay = Math.min(30_000, 200 * 2 ** failures);
      this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'certificate request failed');
      if (!this.credentials) await new Promise((r) => setTimeout(r, delay));
      if (!this.credentials) return this.renew(failures + 1);
      this.schedule(delay, failures + 1);
    }
  }

  private schedule(delayMs: number, failures: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(failures), Math.max(0, delayMs));
    this.timer.unref();
  }

  private install(creds: Credentials): void {
    this.credentials = creds;
    for (const l of this.listeners) l(creds);
  }
}

/**
 * A certificate for a key made here. The CA (the control plane) is verified against the pushed trust
 * bundle when there is one, which is fresher than the root file mounted from a ConfigMap.
 */
async function requestCertificate(
  source: { url: string; root: string; tokenFile: string },
  trustBundle: readonly string[] | undefined,
): Promise<{ certChain: string; keyPem: string; root: string }> {
  const root = readFileSync(source.root, 'utf8');
  const token = readFileSync(source.tokenFile, 'utf8').trim();
  const keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const body = JSON.stringify({ csr: createCsr(keyPem) });
  const reply = await post(source.url, trustBundle ? [...trustBundle] : root, token, body);
  if (reply.status !== 200) throw new Error(`CA answered ${reply.status}: ${reply.body.trim()}`);
  const { certChain } = JSON.parse(reply.body) as { certChain?: string };
  if (!certChain) throw new Error('CA reply without certChain');
  return { certChain, keyPem, root };
}

function post(
  url: string,
  ca: string | string[],
  token: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { ca });
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': CSR_PATH,
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    });
    let status = 0;
    let text = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: string) => (text += c));
    stream.on('end', () => {
      session.close();
      resolve({ status, body: text });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}
