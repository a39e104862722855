import type { Socket } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContextOptions,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import type { Listener, ProxyConfig, TlsSecret } from '../config/generated/proxy-config.js';
import { readServerName } from './sni.js';

/** How long a client may take to send its whole ClientHello. */
const CLIENT_HELLO_TIMEOUT_MS = 10_000;
/** ALPN of terminated HTTP: h2 first, as Envoy's gateway offers it. */
const HTTP_ALPN = ['h2', 'http/1.1'];

export interface GatewayTlsOptions {
  /** A client finished its handshake on `listener` (`tls.alpnProtocol` says h2 or http/1.1). */
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
 * gateway filter chains: the ClientHello's server name picks the server among those of the port
 * (exact host, then `*.suffix`, then `*`), and that server's own tls.Server completes the handshake
 * with its credential, asking for and verifying a client certificate under MUTUAL. A server's
 * credential arrives in the configuration's `secrets`; a rotation swaps the secure context
 * (`setSecureContext`), so new handshakes get the new certificate and open connections carry on.
 * A server whose credential is missing or unusable is not served; an unusable update keeps the
 * credential it had.
 */
export class GatewayTls {
  private readonly byListener = new Map<string, Terminator>();
  private byPort = new Map<number, Map<string, Terminator>>();

  constructor(private readonly options: GatewayTlsOptions) {}

  /** Applies a configuration: servers added, rotated, or dropped (their open connections stay). */
  update(config: ProxyConfig): void {
    const secrets = new Map((config.secrets ?? []).map((s) => [s.name, s]));
    const byPort = new Map<number, Map<string, Terminator>>();
    const kept = new Set<string>();
    for (const listener of config.listeners) {
      const terminator = this.terminatorFor(listener, secrets);
      if (!terminator) continue;
      kept.add(listener.name);
      const hosts = byPort.get(listener.port) ?? new Map<string, Terminator>();
      byPort.set(listener.port, hosts);
      for (const host of listener.tls?.hosts ?? ['*']) hosts.set(host.toLowerCase(), terminator);
    }
    for (const name of this.byListener.keys()) if (!kept.has(name)) this.byListener.delete(name);
    this.byPort = byPort;
  }

  /** Reads the server name, then hands the connection to that server's handshake; no match closes it. */
  accept(socket: Socket, port: number): void {
    readServerName(socket, CLIENT_HELLO_TIMEOUT_MS, (sni) => {
      const hosts = this.byPort.get(port);
      const terminator = hosts && serverFor(hosts, sni);
      if (!terminator) return void socket.destroy();
      terminator.server.emit('connection', socket);
    });
  }

  private terminatorFor(listener: Listener, secrets: ReadonlyMap<string, TlsSecret>): Terminator | undefined {
    const mode = listener.tls?.mode;
    if (listener.direction !== 'gateway' || (mode !== 'SIMPLE' && mode !== 'MUTUAL')) return undefined;
    const previous = this.byListener.get(listener.name);
    const reusable = previous?.listener.tls?.mode === mode ? previous : undefined;
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
      ALPNProtocols: HTTP_ALPN,
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

/** The server for a ClientHello's name: exact, then its `*.` wildcard, then `*`. Pure. */
function serverFor(hosts: ReadonlyMap<string, Terminator>, sni: string | undefined): Terminator | undefined {
  if (sni) {
    const name = sni.toLowerCase();
    const exact = hosts.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    const wildcard = dot > 0 ? hosts.get(`*${name.slice(dot)}`) : undefined;
    if (wildcard) return wildcard;
  }
  return hosts.get('*');
}
