import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { listenerBySni, type ActiveListener, type CompiledConfig } from '../config/compile.js';
import { terminatesToTcp } from '../config/gateway-listeners.js';
import type { Listener } from '../config/generated/proxy-config.js';
import { CONNECTION, type DownstreamConnection, type WithConnection } from '../http/downstream.js';
import { HEADERS_TIMEOUT_MS, type HttpServers } from './http-servers.js';
import { acceptOnPort } from './outbound-listener.js';
import { readServerName } from './sni.js';
import { proxyTcp, type TcpProxyContext } from './tcp-proxy.js';

export interface GatewayListenerOptions {
  readonly config: () => CompiledConfig | undefined;
  readonly http: HttpServers;
  /** Terminates a connection on the named SIMPLE or MUTUAL listener; false when it is not served. */
  readonly terminate: (socket: Socket, listener: string) => boolean;
  readonly tcp: (config: CompiledConfig, conn: DownstreamConnection) => TcpProxyContext;
}

/** How long a client may take to send its whole ClientHello. */
const CLIENT_HELLO_TIMEOUT_MS = 10_000;

/**
 * Connections on gateway ports (the ports Gateway servers bind). A port with TLS listeners waits for
 * the ClientHello and lets its server name pick one, as Envoy picks a filter chain by
 * `server_names`: a SIMPLE or MUTUAL listener terminates with its own certificate (then serves the
 * HTTP inside, or forwards the TCP stream inside by its tcpRoute), a PASSTHROUGH one forwards the
 * bytes, ClientHello included, untouched to its route's cluster; a name no listener has closes the
 * connection (Envoy resets it). A port without them serves its one plaintext listener: HTTP/1.1 or
 * HTTP/2 with prior knowledge (h2c), told apart by the first bytes, routed by Host; or TCP.
 */
export class GatewayListener {
  constructor(private readonly options: GatewayListenerOptions) {}

  accept(socket: Socket, port: number): void {
    acceptOnPort(socket, port);
    const conn = (socket as WithConnection)[CONNECTION]!;
    const config = this.options.config();
    if (config?.gatewayBySni.has(port))
      return readServerName(socket, CLIENT_HELLO_TIMEOUT_MS, (sni) => this.routeBySni(socket, conn, sni));
    const listener = config?.gateway.get(port);
    if (!config || !listener) return void socket.destroy();
    const { protocol, tcpRoute } = listener.config;
    // HTTP, HTTP2 and GRPC servers take HTTP/1.1 and h2c alike, as Envoy's codec_type AUTO; a silent
    // client is closed as HTTP/1.1 would close it for not sending its headers.
    if (protocol !== 'tcp' && protocol !== 'tls')
      return this.options.http.servePlaintext(socket, HEADERS_TIMEOUT_MS);
    if (!tcpRoute) return void socket.destroy();
    proxyTcp(socket, tcpRoute, this.options.tcp(config, conn));
  }

  /** Reads the configuration again: it may have changed while the ClientHello was on its way. */
  private routeBySni(socket: Socket, conn: DownstreamConnection, sni: string | undefined): void {
    const config = this.options.config();
    const byHost = config?.gatewayBySni.get(conn.targetPort!);
    const listener: ActiveListener | undefined = byHost && listenerBySni(byHost, sni);
    if (!config || !listener) return void socket.destroy();
    const { tls, tcpRoute, name } = listener.config;
    if (tls?.mode === 'PASSTHROUGH') return proxyTcp(socket, tcpRoute!, this.options.tcp(config, conn));
    if (!this.options.terminate(socket, name)) socket.destroy();
  }

  /**
   * A connection `listener` terminated: HTTP/2 or HTTP/1.1 as ALPN chose, routed by that listener's
   * route configuration; or, on a tcp or tls listener, the decrypted stream forwarded by its tcpRoute
   * as the configuration has it now (gone from it: closed).
   */
  serveTerminated(tls: TLSSocket, listener: Listener): void {
    tls.on('error', () => tls.destroy());
    const conn: DownstreamConnection = {
      remoteAddress: tls.remoteAddress ?? '',
      targetPort: listener.port,
      peerIdentity: undefined,
      tls: true,
      originalDestination: undefined,
      gatewayListener: listener.name,
    };
    (tls as WithConnection)[CONNECTION] = conn;
    if (terminatesToTcp(listener)) {
      const config = this.options.config();
      const tcpRoute = config?.gatewayByName.get(listener.name)?.config.tcpRoute;
      if (!config || !tcpRoute) return void tls.destroy();
      return proxyTcp(tls, tcpRoute, this.options.tcp(config, conn));
    }
    if (tls.alpnProtocol === 'h2') this.options.http.serveHttp2(tls);
    else this.options.http.serveHttp1(tls);
  }
}
