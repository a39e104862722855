import type { Socket } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContextOptions,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import { terminatesToTcp } from '../config/gateway-listeners.js';
import type { Listener, ProxyConfig, TlsSecret } from '../config/generated/proxy-config.js';

/**
 * ALPN of terminated HTTP: h2 first, as Envoy's gateway offers it. A listener that forwards the
 * decrypted TCP stream offers none: its client speaks its own protocol, not HTTP.
 */
const HTTP_ALPN = ['h2', 'http/1.1'];

export interface GatewayTlsOptions {
  /** A client finished its handshake on `listener` (`tls.alpnProtocol` says h2 or http/1.1 for HTTP). */
  readonly onSecure: (tls: TLSSocket, listener: Listener) => void;
  /** A server that cannot be served, or a credential update that was refused; for the log. */
  readonly onProblem: (problem: { listener: string; credential?: string; message: string }) => void;
}

/** One terminating server: a tls.Server that never listens, holding the listener's credential. */
interface Terminator {
  listener: Listener;
  readonly server: TlsServer;
  /** The PEMs its secure context was made of, to tell a rotation from a repeat. */
  pems: string;
}

/**
 * TLS termination on gateway ports (Gateway servers with tls.mode SIMPLE or MUTUAL), as Envoy's
 * gateway filter chains: once the ClientHello's server name has picked a listener among those of
 * the port (GatewayListener), that listener's own tls.Server completes the handshake with its
 * credential, asking for and verifying a client certificate under MUTUAL. A listener's credential
 * arrives in the configuration's `secrets`; a rotation swaps the secure context
 * (`setSecureContext`), so new handshakes get the new certificate and open connections carry on.
 * A listener whose credential is missing or unusable is not served; an unusable update keeps the
 * credential it had.
 */
export class GatewayTls {
  private readonly byListener = new Map<string, Terminator>();

  constructor(private readonly options: GatewayTlsOptions) {}

  /** Applies a configuration: servers added, rotated, or dropped (their open connections stay). */
  update(config: ProxyConfig): void {
    const secrets = new Map((config.secrets ?? []).map((s) => [s.name, s]));
    const kept = new Set<string>();
    for (const listener of config.listeners) {
      if (this.terminatorFor(listener, secrets)) kept.add(listener.name);
    }
    for (const name of this.byListener.keys()) if (!kept.has(name)) this.byListener.delete(name);
  }

  /**
   * Hands a connection whose ClientHello (still unread) chose `listener` to that listener's
   * handshake. False when the listener is not served (no usable credential): the caller closes it,
   * rather than answer with another server's certificate or in plaintext.
   */
  terminate(socket: Socket, listener: string): boolean {
    const terminator = this.byListener.get(listener);
    if (!terminator) return false;
    terminator.server.emit('connection', socket);
    return true;
  }

  private terminatorFor(listener: Listener, secrets: ReadonlyMap<string, TlsSecret>): Terminator | undefined {
    const mode = listener.tls?.mode;
    if (listener.direction !== 'gateway' || (mode !== 'SIMPLE' && mode !== 'MUTUAL')) return undefined;
    const previous = this.byListener.get(listener.name);
    const reusable =
      previous?.listener.tls?.mode === mode &&
      terminatesToTcp(previous.listener) === terminatesToTcp(listener)
        ? previous
        : undefined;
    const resolved = credentialOf(listener, secrets);
    if ('problem' in resolved)
      return this.refused(listener, resolved.problem, resolved.keepPrevious ? reusable : undefined);
    const { context } = resolved;
    const pems = JSON.stringify(context);
    if (reusable) {
      reusable.listener = listener;
      if (reusable.pems !== pems) reusable.server.setSecureContext(context);
      reusable.pems = pems;
      return reusable;
    }
    const terminator = this.createTerminator(listener, context, mode === 'MUTUAL', pems);
    this.byListener.set(listener.name, terminator);
    return terminator;
  }

  /**
   * A credential that left the configuration (Secret deleted, or not this gateway's to have) is not
   * served; one that arrived unusable leaves `keep`, the one before it, in place, as Istio's SDS does.
   */
  private refused(listener: Listener, problem: string, keep: Terminator | undefined): Terminator | undefined {
    if (keep) keep.listener = listener;
    else this.byListener.delete(listener.name);
    const credential = listener.tls?.credentialName;
    this.options.onProblem({
      listener: listener.name,
      ...(credential ? { credential } : {}),
      message: `${problem}; ${keep ? 'keeping the credential it had' : 'not served'}`,
    });
    return keep;
  }

  private createTerminator(
    listener: Listener,
    context: SecureContextOptions,
    mutual: boolean,
    pems: string,
  ): Terminator {
    const server = createTlsServer({
      ...context,
      ...(terminatesToTcp(listener) ? {} : { ALPNProtocols: HTTP_ALPN }),
      requestCert: mutual,
      rejectUnauthorized: mutual,
    });
    const terminator: Terminator = { listener, server, pems };
    server.on('secureConnection', (tls: TLSSocket) => this.options.onSecure(tls, terminator.listener));
    // Failed handshakes, a MUTUAL client without a certificate the CA signed among them.
    server.on('tlsClientError', (_err, tls) => tls.destroy());
    return terminator;
  }
}

/**
 * The secure context of a terminating listener's credential, or why there is none: not delivered
 * (`keepPrevious` false) or unusable (bad PEM, key not matching the certificate, MUTUAL without CA).
 */
function credentialOf(
  listener: Listener,
  secrets: ReadonlyMap<string, TlsSecret>,
): { context: SecureContextOptions } | { problem: string; keepPrevious: boolean } {
  const name = listener.tls?.credentialName;
  if (!name) return { problem: 'no credentialName', keepPrevious: false };
  const secret = secrets.get(name);
  if (!secret) return { problem: 'its credential was not delivered', keepPrevious: false };
  const mutual = listener.tls?.mode === 'MUTUAL';
  if (mutual && !secret.caCertificates)
    return { problem: 'MUTUAL needs CA certificates (ca.crt)', keepPrevious: true };
  const context: SecureContextOptions = {
    cert: secret.certificateChain,
    key: secret.privateKey,
    ...(mutual ? { ca: secret.caCertificates } : {}),
  };
  try {
    createSecureContext(context);
  } catch (err) {
    return { problem: `unusable credential: ${(err as Error).message}`, keepPrevious: true };
  }
  return { context };
}
