import {
  createServer as createHttp1Server,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DownstreamRequest, DownstreamResponse } from '../http/downstream.js';
import { peekFirstBytes } from './peek.js';

/** How long a downstream HTTP/1.1 client may take to send a request's headers. */
export const HEADERS_TIMEOUT_MS = 30_000;

export type HttpHandler = (req: DownstreamRequest, res: DownstreamResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Downstream HTTP/1.1 and HTTP/2 servers that never listen themselves: listeners hand them
 * accepted (and, for mTLS, decrypted) connections. Node's strict parser (llhttp) already refuses
 * the request-smuggling vectors (Content-Length with Transfer-Encoding, duplicate or invalid
 * Content-Length, bad header characters, obs-fold); `clientError` turns each into a 400 and a
 * closed connection, and an oversized header block into 431, before anything is forwarded.
 */
export class HttpServers {
  private readonly http1: Server;
  private readonly http2: Http2Server;

  constructor(handler: HttpHandler, upgrade?: UpgradeHandler) {
    this.http1 = createHttp1Server(
      {
        // Idle client connections are cheap and reconnects are not: keep them longer than clients do.
        keepAliveTimeout: 60_000,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: 0,
        insecureHTTPParser: false,
        maxHeaderSize: 16 * 1024,
      },
      handler as unknown as (req: IncomingMessage, res: ServerResponse) => void,
    );
    this.http1.on('clientError', onClientError);
    // A client may send its last request, then shut down its write side (FIN) and wait for the
    // answer: HAProxy answers it, and so does Node's server with httpAllowHalfOpen (missing from its
    // typings): the FIN makes the pending response the last one, whose end closes the connection,
    // and closes an idle connection at once. A FIN inside a request (headers or body incomplete) is
    // still a parse error, llhttp's invalid EOF state: clientError, and the request is aborted.
    (this.http1 as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    // Without a listener Node would answer an upgrade request as a plain one; with it, the request
    // is tunnelled (WebSocket). HTTP/2 has no Upgrade.
    if (upgrade) this.http1.on('upgrade', upgrade);
    // Node tracks connections (for closeIdleConnections on drain, and for headersTimeout) only from
    // 'listening' on; this server never listens, so start the tracking here.
    this.http1.emit('listening');
    this.http2 = createHttp2Server({ maxHeaderListPairs: 256 }, handler as never);
    this.http2.on('sessionError', () => undefined);
    this.http2.on('session', closeWhenUnresponsive);
  }

  /** Serves an HTTP/1.1 connection. */
  serveHttp1(socket: Duplex): void {
    // Node's own HTTP server accepts its sockets half-open and leaves a FIN to the parser (above);
    // the proxy's listeners accept theirs closing on one until a protocol that honours it takes them.
    socket.allowHalfOpen = true;
    this.http1.emit('connection', socket);
  }

  /** Serves an HTTP/2 connection (TLS with ALPN h2, or plaintext with the h2c preface). */
  serveHttp2(socket: Duplex): void {
    this.http2.emit('connection', socket);
  }

  /** Plaintext: HTTP/2 when the client opens with the connection preface, else HTTP/1.1. */
  serveSniffed(socket: Duplex, firstBytes: Buffer): void {
    if (isHttp2Preface(firstBytes)) this.serveHttp2(socket);
    else this.serveHttp1(socket);
  }

  /**
   * A plaintext connection on an HTTP port: waits for the client's first bytes, then serves HTTP/2
   * with prior knowledge (h2c) or HTTP/1.1 by them, as Envoy's codec_type AUTO. Only for HTTP ports:
   * HTTP clients speak first, a server-first protocol would wait for good. With `timeoutMs` above 0
   * a client that sends nothing for that long is closed, as the HTTP/1.1 server's headers timeout
   * would close it; with 0 it may wait for good.
   */
  servePlaintext(socket: Socket, timeoutMs: number): void {
    peekFirstBytes(socket, timeoutMs, (first) => {
      if (first === undefined) return void socket.destroy();
      this.serveSniffed(socket, first);
    });
  }

  /** Stops accepting requests on kept-alive connections and closes idle ones (drain). */
  drain(): void {
    this.http1.closeIdleConnections();
    this.http1.close();
    this.http2.close();
  }
}

/** `PRI * HTTP/2.0`: an h2c client's first bytes. Pure. */
export function isHttp2Preface(b: Buffer): boolean {
  return b.length >= 3 && b[0] === 0x50 && b[1] === 0x52 && b[2] === 0x49;
}

/**
 * How long a downstream HTTP/2 session may idle before it is asked for a PING, and how long the
 * answer may take before the session is closed. Node stops reading a session once nghttp2 has sent
 * a GOAWAY for a connection error (an HPACK block it cannot decode, a CONTINUATION out of place, a
 * frame larger than allowed) but never closes it, though RFC 9113 §5.4.1 says to: the peer's FIN is
 * never read and the socket stays open for good, one leaked per bad peer. Such a session sends
 * nothing more, so its PING is never answered. A live one answers, once per idle period: neither the
 * PING nor its ACK counts as activity that re-arms the timer. Envoy's connection_keepalive probes
 * dead peers the same way.
 */
const H2_IDLE_PROBE_MS = 1_000;
const H2_PING_TIMEOUT_MS = 2_000;

function closeWhenUnresponsive(session: ServerHttp2Session): void {
  session.setTimeout(H2_IDLE_PROBE_MS);
  session.on('timeout', () => {
    if (session.destroyed) return;
    const deadline = setTimeout(() => session.destroy(), H2_PING_TIMEOUT_MS).unref();
    session.ping((err) => {
      clearTimeout(deadline);
      if (err) session.destroy();
    });
  });
}

function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
}
