import type { Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ActiveListener, CompiledConfig } from '../config/compile.js';
import type { Credentials } from '../identity/credentials.js';
import { peerSpiffeId } from '../identity/credentials.js';
import { CONNECTION, type DownstreamConnection, type WithConnection } from '../http/downstream.js';
import { portOfSni } from '../upstream/cluster.js';
import { MESH_ALPN_HTTP, MESH_ALPN_TCP } from '../upstream/connector.js';
import type { OriginalDestinationReader } from '../original-dst/original-dst.js';
import type { HttpServers } from './http-servers.js';
import { peekFirstBytes, TLS_HANDSHAKE_RECORD } from './peek.js';
import { proxyTcp, type TcpProxyContext } from './tcp-proxy.js';

export interface InboundListenerOptions {
  readonly config: () => CompiledConfig | undefined;
  readonly credentials: () => Credentials | undefined;
  readonly http: HttpServers;
  readonly tcp: (config: CompiledConfig, conn: DownstreamConnection) => TcpProxyContext;
  /** How long PERMISSIVE waits for a client's first byte before assuming a server-first plaintext protocol. */
  readonly detectionTimeoutMs: number;
  readonly onRefused: (reason: 'plaintext-in-strict' | 'tls-handshake' | 'no-listener' | 'rbac') => void;
  /** With traffic capture on: the port a redirected connection was for (plaintext has no SNI to say). */
  readonly originalDestination: OriginalDestinationReader | undefined;
}

const SERVER_ALPN = [...MESH_ALPN_HTTP, ...MESH_ALPN_TCP];

/**
 * The inbound side (15006): enforces the PeerAuthentication mode, terminates mesh mTLS with the
 * workload certificate, learns the target port (from the mesh SNI over mTLS, from the original
 * destination for plaintext when traffic is captured, else the workload's only inbound port), then
 * serves HTTP or proxies TCP to the application.
 */
export class InboundListener {
  private tls: TlsServer | undefined;
  private tlsCredentials: Credentials | undefined;

  constructor(private readonly options: InboundListenerOptions) {}

  accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const config = this.options.config();
    if (!config) return void socket.destroy();
    const mode = config.mtls.mode;
    const tcpOnly = [...config.inbound.values()].every((l) => isTcp(l));
    // Under STRICT only mTLS passes, and its SNI names the port: no need to ask the kernel.
    const port = mode === 'STRICT' ? undefined : this.options.originalDestination?.(socket)?.port;
    // A captured port the workload does not serve must not reach its only port by default.
    if (port !== undefined && !config.inbound.has(port)) {
      this.options.onRefused('no-listener');
      return void socket.destroy();
    }
    // A plaintext-only TCP workload is never sniffed: server-first protocols must not wait.
    if (mode === 'DISABLE' && tcpOnly) return this.route(socket, undefined, port, false, undefined);
    const timeout = mode === 'PERMISSIVE' && !tcpOnly ? 0 : this.options.detectionTimeoutMs;
    peekFirstBytes(socket, mode === 'STRICT' ? 0 : timeout, (first) => {
      if (first?.[0] === TLS_HANDSHAKE_RECORD && mode !== 'DISABLE') return this.terminateTls(socket);
      if (mode === 'STRICT') {
        this.options.onRefused('plaintext-in-strict');
        return void socket.destroy();
      }
      this.route(socket, first, port, false, undefined);
    });
  }

  private terminateTls(socket: Socket): void {
    const creds = this.options.credentials();
    if (!creds) return void socket.destroy();
    this.tlsServer(creds).emit('connection', socket);
  }

  /**
   * A tls.Server that never listens: connections are handed to it, and it does for them what a
   * TLSSocket made by hand does not: verify the client certificate (`authorized`, and destroy when it
   * fails), finish the handshake state HTTP/2 waits on, and bound the handshake's duration.
   * Its certificate and trusted roots follow the workload's credentials: a rotation or a new trust
   * bundle applies from the next handshake, and connections already up keep the context they began with.
   */
  private tlsServer(creds: Credentials): TlsServer {
    if (this.tls && this.tlsCredentials === creds) return this.tls;
    const context = creds.secureContextOptions();
    this.tlsCredentials = creds;
    if (this.tls) {
      this.tls.setSecureContext(context);
      return this.tls;
    }
    const server = createTlsServer({
      ...context,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: SERVER_ALPN,
    });
    server.on('secureConnection', (tls: TLSSocket) => {
      const peer = peerSpiffeId(tls.getPeerCertificate());
      const port = portOfSni(tls.servername ?? undefined);
      this.route(tls, undefined, port, true, peer);
    });
    // Handshake failures, including a client certificate no trusted mesh root signed (or none).
    server.on('tlsClientError', (_err, tls) => {
      this.options.onRefused('tls-handshake');
      tls.destroy();
    });
    this.tls = server;
    return server;
  }

  private route(
    socket: Duplex,
    first: Buffer | undefined,
    targetPort: number | undefined,
    isTls: boolean,
    peerIdentity: string | undefined,
  ): void {
    const config = this.options.config();
    const listener = config && inboundListenerFor(config, targetPort);
    if (!config || !listener) {
      this.options.onRefused('no-listener');
      return void socket.destroy();
    }
    const conn: DownstreamConnection = {
      remoteAddress: (socket as Socket).remoteAddress ?? '',
      targetPort: listener.config.port,
      peerIdentity,
      tls: isTls,
      originalDestination: undefined,
    };
    (socket as WithConnection)[CONNECTION] = conn;
    if (isTcp(listener)) return this.proxyTcp(socket, listener, config, conn);
    if (isTls) {
      if ((socket as TLSSocket).alpnProtocol === 'h2') this.options.http.serveHttp2(socket);
      else this.options.http.serveHttp1(socket);
      return;
    }
    this.options.http.serveSniffed(socket, first ?? Buffer.alloc(0));
  }

  private proxyTcp(
    socket: Duplex,
    listener: ActiveListener,
    config: CompiledConfig,
    conn: DownstreamConnection,
  ): void {
    if (!config.authorizer.empty) {
      const decision = config.authorizer.check({
        principal: conn.peerIdentity,
        sourceIp: conn.remoteAddress,
        destinationPort: listener.config.port,
        http: false,
      });
      if (!decision.allowed) {
        this.options.onRefused('rbac');
        return void socket.destroy();
      }
    }
    const route = listener.config.tcpRoute;
    if (!route) return void socket.destroy();
    proxyTcp(socket, route, this.options.tcp(config, conn));
  }
}

function isTcp(l: ActiveListener): boolean {
  return l.config.protocol === 'tcp' || l.config.protocol === 'tls';
}

/** The inbound listener for a target port; without one, the workload's only inbound listener. Pure. */
export function inboundListenerFor(
  config: CompiledConfig,
  port: number | undefined,
): ActiveListener | undefined {
  if (port !== undefined) {
    const exact = config.inbound.get(port);
    if (exact) return exact;
  }
  return config.inbound.size === 1 ? config.inbound.values().next().value : undefined;
}
