import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * What the proxy needs of a downstream request and response. Node's HTTP/1.1 objects and its
 * HTTP/2 compatibility objects both fit, so one handler serves both protocols.
 */
export interface DownstreamRequest extends Readable {
  readonly method?: string;
  readonly url?: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersionMajor: number;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

export interface DownstreamResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  /** With setHeader: a head sent by the first write or end (a trailers-only gRPC response). */
  statusCode: number;
  setHeader(name: string, value: string | string[]): unknown;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  once(event: 'drain' | 'close' | 'finish', listener: () => void): unknown;
  destroy(error?: Error): unknown;
}

/** Per-connection facts the request handler needs, attached to the socket when it is accepted. */
export interface DownstreamConnection {
  readonly remoteAddress: string;
  /** The service port the client meant (original destination, SNI, or the listener's port). */
  readonly targetPort: number | undefined;
  /** The peer's verified SPIFFE ID (mesh mTLS), or undefined for plaintext. */
  readonly peerIdentity: string | undefined;
  readonly tls: boolean;
  /**
   * `<address>:<port>` the application connected to, when traffic capture redirected it to the
   * proxy: an outbound request whose Host names no service is routed by it.
   */
  readonly originalDestination: string | undefined;
  /**
   * The gateway listener (Gateway server) whose TLS this connection terminated, chosen by its
   * ClientHello's server name: its route configuration routes the requests, not the port's.
   */
  readonly gatewayListener?: string;
}

export const CONNECTION = Symbol('weft.downstream.connection');

export type WithConnection = { [CONNECTION]?: DownstreamConnection };
