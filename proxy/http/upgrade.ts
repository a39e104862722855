import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpstreamCluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/host.js';
import { splice } from '../listeners/splice.js';
import type { DownstreamRequest, DownstreamResponse } from './downstream.js';
import type { ExchangeResult } from './exchange.js';
import type { HeaderMap } from './headers.js';
import { ResponseFlag } from './outcome.js';

/**
 * HTTP/1.1 upgrades (WebSocket, RFC 6455; any `Connection: upgrade`), as Envoy's upgrade_configs
 * run them: the request goes through the same filter chain as any other (authorization, route,
 * rewrites), then, instead of an exchange, the proxy opens one raw connection to the chosen host
 * (mesh mTLS with ALPN http/1.1 between proxies), writes the request head and relays bytes both ways
 * until both sides have closed, passing a FIN from either on to the other (splice), as HAProxy's
 * tunnel mode does. The upstream's status line (101, or a refusal) is read for telemetry and
 * relayed as it is.
 */

/** Marks a request that arrived as an upgrade: the raw socket and any bytes read past its head. */
export const UPGRADE = Symbol('weft.upgrade');

export interface UpgradeRequest {
  readonly socket: Duplex;
  readonly head: Buffer;
}

export type WithUpgrade = { [UPGRADE]?: UpgradeRequest };

/**
 * A response object on the upgrade's socket, so the filter chain's local replies (403, 404, 503) are
 * written as ordinary HTTP responses; the tunnel takes the socket back from it once it connects.
 */
export function upgradeResponse(req: IncomingMessage, socket: Duplex): DownstreamResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as never);
  res.once('finish', () => socket.end());
  return res;
}

export interface TunnelArgs {
  readonly cluster: UpstreamCluster;
  readonly host: UpstreamHost;
  readonly method: string;
  readonly path: string;
  /** The upstream request headers, hop-by-hop removed: the upgrade pair is put back here. */
  readonly headers: HeaderMap;
  readonly upgrade: string;
  readonly downstream: UpgradeRequest;
  readonly res: DownstreamResponse;
}

/** The request head written upstream, with `Connection: upgrade` and the upgrade token restored. Pure. */
export function upgradeRequestHead(
  method: string,
  path: string,
  headers: HeaderMap,
  upgrade: string,
): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return `${head}connection: upgrade\r\nupgrade: ${upgrade}\r\n\r\n`;
}

/** The status code of a response's first bytes (`HTTP/1.1 101 ...`), or 0 if they are not one. Pure. */
export function statusOf(firstBytes: Buffer): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(firstBytes.subarray(0, 16).toString('latin1'));
  return m ? Number(m[1]) : 0;
}

/** Opens the tunnel; `done` gets the outcome once both directions have closed (or connecting failed). */
export function tunnelUpgrade(args: TunnelArgs, done: (result: ExchangeResult) => void): void {
  const { cluster, host, downstream, res } = args;
  const result: ExchangeResult = {
    status: 0,
    flags: ResponseFlag.none,
    upstreamHost: host,
    attempts: 1,
    responseBytes: 0,
    grpcStatus: undefined,
    upstreamServiceTimeMs: 0,
  };
  const started = performance.now();
  host.activeRequests += 1;
  cluster.upgradeConnector(host)(
    { hostname: host.endpoint.address, host: host.key, protocol: 'http:', port: String(host.endpoint.port) },
    (err, upstream) => {
      if (err || !upstream) {
        host.activeRequests -= 1;
        cluster.outlier.record(host, 'connect-failure', cluster.hosts.length);
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('upstream connect error');
        return done({ ...result, status: 503, flags: ResponseFlag.upstreamConnectFailure });
      }
      cluster.outlier.record(host, 'success', cluster.hosts.length);
      (res as unknown as ServerResponse).detachSocket(downstream.socket as never);
      relay(upstream, downstream, args, result, () => {
        host.activeRequests -= 1;
        result.upstreamServiceTimeMs = performance.now() - started;
        // Closed before a status line: Envoy's "upstream connection termination".
        if (result.status === 0) Object.assign(result, { status: 503, flags: ResponseFlag.upstreamReset });
        done(result);
      });
    },
  );
}

function relay(
  upstream: Duplex,
  downstream: UpgradeRequest,
  args: TunnelArgs,
  result: ExchangeResult,
  closed: () => void,
): void {
  upstream.write(upgradeRequestHead(args.method, args.path, args.headers, args.upgrade));
  if (downstream.head.length) upstream.write(downstream.head);
  upstream.once('data', (first: Buffer) => (result.status = statusOf(first)));
  upstream.on('data', (chunk: Buffer) => (result.responseBytes += chunk.length));
  // Once upgraded, the tunnel carries bytes as the TCP proxy does, half-close included.
  splice(upstream, downstream.socket, closed);
}

export const isUpgrade = (req: DownstreamRequest): UpgradeRequest | undefined =>
  (req as unknown as WithUpgrade)[UPGRADE];
