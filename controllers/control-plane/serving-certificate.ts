import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';

/** A serving certificate and what a TLS server presents and trusts beside it. */
export interface ServingCredential {
  /** The leaf certificate (PEM). */
  readonly certPem: string;
  readonly keyPem: string;
  /** The issuer's chain (PEM), sent after the leaf so clients that trust only the root can verify it. */
  readonly chainPem: string;
  /** The mesh root (PEM): what a server that asks for client certificates verifies them against. */
  readonly rootPem: string;
}

/** A certificate's validity window, in epoch milliseconds. */
export interface ValidityWindow {
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface RenewalPolicy {
  /** Renew once this fraction of the lifetime has passed (cert-manager's default renewBefore is 1/3: 2/3). */
  readonly renewAtFraction: number;
  /** The shortest wait, so a certificate that is due at once (clock skew, short validity) never spins. */
  readonly minDelayMs: number;
  /** The longest single wait: timers overflow past 2^31-1 ms, so a long wait wakes, re-checks, waits again. */
  readonly maxDelayMs: number;
  /** After a failed issue: the first retry, doubling per consecutive failure up to `retryMaxMs`. */
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

export const DEFAULT_RENEWAL_POLICY: RenewalPolicy = {
  renewAtFraction: 2 / 3,
  minDelayMs: 1_000,
  maxDelayMs: 24 * 3_600_000,
  retryInitialMs: 1_000,
  retryMaxMs: 5 * 60_000,
};

/** When a certificate is due for renewal: `renewAtFraction` of the way from notBefore to notAfter. Pure. */
export function renewalTime(
  validity: ValidityWindow,
  policy: RenewalPolicy = DEFAULT_RENEWAL_POLICY,
): number {
  return validity.notBefore + (validity.notAfter - validity.notBefore) * policy.renewAtFraction;
}

/**
 * How long to wait at `now` before looking at the certificate again: until its renewal time, within
 * the policy's floor and ceiling. Computed from the certificate's own window, so timers that fire late
 * do not add up. Pure.
 */
export function renewalDelayMs(
  validity: ValidityWindow,
  now: number,
  policy: RenewalPolicy = DEFAULT_RENEWAL_POLICY,
): number {
  const until = renewalTime(validity, policy) - now;
  return Math.min(policy.maxDelayMs, Math.max(policy.minDelayMs, until));
}

/** The wait before retrying after `failures` consecutive failed issues (1 or more). Pure. */
export function retryDelayMs(failures: number, policy: RenewalPolicy = DEFAULT_RENEWAL_POLICY): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(policy.retryMaxMs, policy.retryInitialMs * 2 ** exponent);
}

/** The window and serial of a PEM certificate (the first one, when given a chain). */
export function describeCertificate(certPem: string): ValidityWindow & { readonly serial: string } {
  const cert = new X509Certificate(certPem);
  return {
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    serial: cert.serialNumber,
  };
}

/**
 * The secure context a server builds from the credential: the leaf with its chain and the key, plus
 * the mesh root when the server verifies client certificates (15012: proxies' push streams). Pure.
 */
export function secureContextOptions(
  credential: ServingCredential,
  { verifyClients }: { readonly verifyClients: boolean },
): SecureContextOptions {
  const cert = credential.certPem + credential.chainPem;
  return verifyClients
    ? { cert, key: credential.keyPem, ca: credential.rootPem }
    : { cert, key: credential.keyPem };
}

export interface ServingCertificateOptions {
  /** Issues a fresh credential valid for `validityMs` from now; a throw or rejection is retried with back-off. */
  readonly issue: (validityMs: number) => ServingCredential | Promise<ServingCredential>;
  readonly validityMs: number;
  readonly log: Logger;
  /** Where `weft_control_plane_serving_cert_expiry_seconds` is registered. */
  readonly registry: Registry;
  readonly policy?: RenewalPolicy;
}

/** A TLS server that presents the credential, and the secure context it needs from it. */
interface Consumer {
  readonly server: TlsServer;
  readonly contextFor: (credential: ServingCredential) => SecureContextOptions;
}

/**
 * The control plane's serving credential (ports 15012 and 15017): issued at start, re-issued at two
 * thirds of its lifetime and whenever the mesh CA changes, and swapped into every server that uses it
 * with `setSecureContext`, so new handshakes get the new certificate while open connections (proxies'
 * push streams) carry on with the one they verified.
 */
export class ServingCertificate {
  private credential: ServingCredential;
  private window: ValidityWindow & { readonly serial: string };
  private readonly consumers: Consumer[] = [];
  private readonly expiry: Gauge;
  private readonly policy: RenewalPolicy;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(
    private readonly options: ServingCertificateOptions,
    first: ServingCredential,
  ) {
    this.policy = options.policy ?? DEFAULT_RENEWAL_POLICY;
    this.credential = first;
    this.window = describeCertificate(first.certPem);
    this.expiry = new Gauge({
      name: 'weft_control_plane_serving_cert_expiry_seconds',
      help: "The control plane's serving certificate (ports 15012 and 15017) expires at this Unix time, in seconds.",
      registers: [options.registry],
    });
    this.expiry.set(this.window.notAfter / 1000);
    this.schedule(renewalDelayMs(this.window, Date.now(), this.policy));
  }

  /** Issues the first credential (a failure here is the caller's: nothing can be served without it). */
  static async start(options: ServingCertificateOptions): Promise<ServingCertificate> {
    const first = await options.issue(options.validityMs);
    const serving = new ServingCertificate(options, first);
    options.log.info(
      { serial: serving.window.serial, notAfter: new Date(serving.window.notAfter).toISOString() },
      'issued the serving certificate',
    );
    return serving;
  }

  get current(): ServingCredential {
    return this.credential;
  }

  /** The current certificate's serial and window (epoch ms). */
  get validity(): ValidityWindow & { readonly serial: string } {
    return this.window;
  }

  /**
   * Keeps `server` presenting the current credential: `contextFor` gives the secure context options
   * (cert, key, ca) it needs, now and after every renewal. Server options such as requestCert are
   * not part of the context and stay as the server was created.
   */
  serve(server: TlsServer, contextFor: (credential: ServingCredential) => SecureContextOptions): void {
    this.consumers.push({ server, contextFor });
    server.setSecureContext(contextFor(this.credential));
  }

  /**
   * Re-issues now (the mesh CA changed, say). Calls queue rather than share one issue: a CA change
   * that arrives while a renewal is issuing from the old CA still gets its own certificate.
   * Never rejects: a failure is logged and retried.
   */
  renew(reason: string): Promise<void> {
    this.queue = this.queue.then(() => this.reissue(reason));
    return this.queue;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async reissue(reason: string): Promise<void> {
    const { log } = this.options;
    let next: ServingCredential;
    let window: ValidityWindow & { readonly serial: string };
    try {
      next = await this.options.issue(this.options.validityMs);
      window = describeCertificate(next.certPem);
      // Every context is built before any is swapped, so a bad credential leaves all servers as they were.
      const contexts = this.consumers.map(({ contextFor }) => contextFor(next));
      contexts.forEach((context) => createSecureContext(context));
      this.consumers.forEach(({ server }, i) => server.setSecureContext(contexts[i]!));
    } catch (err) {
      this.failures += 1;
      const retryInMs = retryDelayMs(this.failures, this.policy);
      log.error(
        {
          err,
          reason,
          failures: this.failures,
          retryInMs,
          notAfter: new Date(this.window.notAfter).toISOString(),
        },
        'renewing the serving certificate failed; the current one is served until it expires',
      );
      this.schedule(retryInMs);
      return;
    }
    this.failures = 0;
    this.credential = next;
    this.window = window;
    this.expiry.set(window.notAfter / 1000);
    log.info(
      { reason, serial: window.serial, notAfter: new Date(window.notAfter).toISOString() },
      'renewed the serving certificate',
    );
    this.schedule(renewalDelayMs(window, Date.now(), this.policy));
  }

  /**
   * One timer at a time. On waking: a retry after a failure issues at once; otherwise it issues only
   * when due, since a long wait is split by the ceiling.
   */
  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      if (this.failures > 0) void this.renew('retry');
      else if (Date.now() >= renewalTime(this.window, this.policy)) void this.renew('renewal time');
      else this.schedule(renewalDelayMs(this.window, Date.now(), this.policy));
    }, delayMs);
    // The timer must not keep the process alive: the servers do that, and stop() ends the schedule.
    this.timer.unref();
  }
}
