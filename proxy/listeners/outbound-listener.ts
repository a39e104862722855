import type { Socket } from 'node:net';
import { listenerBySni, type ActiveListener, type CompiledConfig } from '../config/compile.js';
import { CONNECTION, type DownstreamConnection, type WithConnection } from '../http/downstream.js';
import type { OriginalDestination, OriginalDestinationReader } from '../original-dst/original-dst.js';
import type { HttpServers } from './http-servers.js';
import { passthrough } from './passthrough.js';
import { readServerName } from './sni.js';
import { proxyTcp, type TcpProxyContext } from './tcp-proxy.js';

export interface OutboundListenerOptions {
  readonly config: () => CompiledConfig | undefined;
  readonly http: HttpServers;
  readonly tcp: (config: CompiledConfig, conn: DownstreamConnection) => TcpProxyContext;
  /** With traffic capture on: where each accepted connection was going. Without it, none is read. */
  readonly originalDestination: OriginalDestinationReader | undefined;
}

/** How long a captured TLS connection may take to send its whole ClientHello. */
const CLIENT_HELLO_TIMEOUT_MS = 5_000;

/**
 * The outbound side (15001): the application's own connections, in plaintext.
 *
 * Without traffic capture the application sends requests here as to an HTTP proxy, and the `Host`
 * (or absolute-form request target) names the service and port; that port's routes apply.
 *
 * With capture, iptables redirected the connection here and its original destination says where
 * it was going: the listener of that service address (TCP, no byte inspected), else that port's
 * listener (HTTP routed by Host, then by the address; TLS by the ClientHello's server name), else
 * a destination outside the mesh, reached directly as Istio's default ALLOW_ANY does.
 */
export class OutboundListener {
  constructor(private readonly options: OutboundListenerOptions) {}

  accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const dst = this.options.originalDestination?.(socket);
    // Not redirected: an application using the listener as an HTTP proxy, as without capture.
    if (dst === undefined) return this.acceptExplicit(socket);
    this.acceptCaptured(socket, dst);
  }

  private acceptExplicit(socket: Socket): void {
    attach(socket, undefined, undefined);
    this.options.http.servePlaintext(socket, 0);
  }

  private acceptCaptured(socket: Socket, dst: OriginalDestination): void {
    const config = this.options.config();
    if (!config) return void socket.destroy();
    const address = `${dst.address}:${dst.port}`;
    const conn = attach(socket, dst.port, address);
    const byAddress = config.outboundByAddress.get(address);
    if (byAddress) return this.serve(socket, byAddress, config, conn);
    const byHost = config.outboundBySni.get(dst.port);
    // Only a port with TLS listeners by name waits for a ClientHello: server-first protocols must not.
    if (byHost) return this.routeBySni(socket, byHost, config, conn, dst);
    const listener = config.outbound.get(dst.port);
    if (listener) this.serve(socket, listener, config, conn);
    else passthrough(socket, dst);
  }

  /** TLS by the server name it asks for; a name no listener claims goes to the port's listener, or out of the mesh. */
  private routeBySni(
    socket: Socket,
    byHost: ReadonlyMap<string, ActiveListener>,
    config: CompiledConfig,
    conn: DownstreamConnection,
    dst: OriginalDestination,
  ): void {
    readServerName(socket, CLIENT_HELLO_TIMEOUT_MS, (sni) => {
      const chosen =
        (sni === undefined ? undefined : listenerBySni(byHost, sni)) ?? config.outbound.get(dst.port);
      if (chosen) this.serve(socket, chosen, config, conn);
      else passthrough(socket, dst);
    });
  }

  /** TCP and TLS are proxied without inspection; HTTP goes to the HTTP servers, which route by Host. */
  private serve(
    socket: Socket,
    listener: ActiveListener,
    config: CompiledConfig,
    conn: DownstreamConnection,
  ): void {
    const { protocol, tcpRoute } = listener.config;
    if (protocol !== 'tcp' && protocol !== 'tls') return this.options.http.servePlaintext(socket, 0);
    if (!tcpRoute) return void socket.destroy();
    proxyTcp(socket, tcpRoute, this.options.tcp(config, conn));
  }
}

function attach(
  socket: Socket,
  targetPort: number | undefined,
  originalDestination: string | undefined,
): DownstreamConnection {
  const conn: DownstreamConnection = {
    remoteAddress: socket.remoteAddress ?? '',
    targetPort,
    peerIdentity: undefined,
    tls: false,
    originalDestination,
  };
  (socket as WithConnection)[CONNECTION] = conn;
  return conn;
}

/** A connection accepted on a listener of its own port (gateway ports, outbound TCP services). */
export function acceptOnPort(socket: Socket, port: number): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  attach(socket, port, undefined);
}
