import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Route, WeightedCluster } from '../config/generated/proxy-config.js';
import type { ActiveListener, CompiledConfig } from '../config/compile.js';
import { applyHeaderOperations } from '../routing/header-operations.js';
import type { RouteRequest, RouteSelection } from '../routing/route-table.js';
import type { AccessLogger } from '../telemetry/access-log.js';
import type { ProxyMetrics } from '../telemetry/metrics.js';
import { propagateTrace } from '../telemetry/tracing.js';
import type { UpstreamCluster } from '../upstream/cluster.js';
import { hashKeyFor } from '../upstream/load-balancer.js';
import {
  CONNECTION,
  type DownstreamConnection,
  type DownstreamRequest,
  type DownstreamResponse,
  type WithConnection,
} from './downstream.js';
import { BodyRecorder } from './body-recorder.js';
import { UpstreamExchange, type ExchangeResult } from './exchange.js';
import { isGrpcRequest, sendLocalReply } from './grpc.js';
import {
  appendForwardedFor,
  headerValue,
  PEER_METADATA_HEADER,
  setClientCertHeader,
  upstreamRequestHeaders,
  type HeaderMap,
} from './headers.js';
import { mirror } from './mirror.js';
import { normalizePath } from './path-normalization.js';
import {
  isUpgrade,
  tunnelUpgrade,
  UPGRADE,
  upgradeResponse,
  type UpgradeRequest,
  type WithUpgrade,
} from './upgrade.js';
import { ResponseFlag } from './outcome.js';
import { decodePeerMetadata, encodePeerMetadata, type WorkloadFacts } from './telemetry-labels.js';
import { recordRequest } from './request-telemetry.js';

export type Direction = 'outbound' | 'inbound' | 'gateway';

export interface RequestHandlerOptions {
  readonly direction: Direction;
  readonly config: () => CompiledConfig | undefined;
  readonly self: () => WorkloadFacts;
  readonly selfIdentity: () => string | undefined;
  readonly metrics: ProxyMetrics;
  readonly accessLog: AccessLogger;
  /** Listener port used when the connection does not say which one was meant (gateway ports). */
  readonly listenerPort: number;
}

/** Bodies up to this size are buffered so that a retry (or a mirror) can replay them. */
const REPLAYABLE_BODY_BYTES = 64 * 1024;
const RBAC_DENIED = 'RBAC: access denied';

/**
 * The HTTP filter chain of one listener direction, as Envoy's HTTP connection manager runs it:
 * authorization (inbound), route selection, CORS, direct responses and redirects, fault injection,
 * header rewrites, then the upstream exchange with retries; telemetry when it ends.
 */
export function createRequestHandler(
  options: RequestHandlerOptions,
): (req: DownstreamRequest, res: DownstreamResponse) => void {
  return (req, res) => {
    const ctx = new RequestContext(options, req, res);
    ctx.run();
  };
}

/** The same chain for an HTTP/1.1 upgrade request (WebSocket): it ends in a tunnel (upgrade.ts). */
export function createUpgradeHandler(
  options: RequestHandlerOptions,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    (req as unknown as WithUpgrade)[UPGRADE] = { socket, head };
    new RequestContext(options, req, upgradeResponse(req, socket)).run();
  };
}

class RequestContext {
  private readonly startedAt = Date.now();
  private readonly startedHr = performance.now();
  private readonly conn: DownstreamConnection;
  private readonly authority: string;
  private readonly method: string;
  /** The request target; on inbound and gateway listeners, normalised before anything reads it. */
  private path: string;
  private requestBytes = 0;
  private selection: RouteSelection | undefined;
  private clusterName: string | undefined;
  private exchange: UpstreamExchange | undefined;
  private requestId: string | undefined;
  private peer: WorkloadFacts | undefined;

  constructor(
    private readonly options: RequestHandlerOptions,
    private readonly req: DownstreamRequest,
    private readonly res: DownstreamResponse,
  ) {
    this.conn = (req.socket as unknown as WithConnection)[CONNECTION] ?? {
      remoteAddress: req.socket.remoteAddress ?? '',
      targetPort: undefined,
      peerIdentity: undefined,
      tls: false,
      originalDestination: undefined,
    };
    this.authority = headerValue(req.headers[':authority'] ?? req.headers.host) ?? '';
    this.method = req.method ?? 'GET';
    this.path = req.url ?? '/';
  }

  run(): void {
    const config = this.options.config();
    if (!config)
      return this.localReply(503, ResponseFlag.noHealthyUpstream, 'the proxy has no configuration yet');
    // The body is re-framed upstream, so a transfer coding other than chunked (`gzip, chunked`)
    // would be silently dropped: refuse it, as Envoy does (RFC 9112 §6.1).
    const te = headerValue(this.req.headers['transfer-encoding']);
    if (te !== undefined && te.trim().toLowerCase() !== 'chunked')
      return this.localReply(501, ResponseFlag.none, 'unsupported transfer encoding');
    if (this.options.direction !== 'outbound' && !this.normalizePath(config)) return;
    if (this.options.direction === 'inbound' && !this.admitInbound(config)) return;
    const routeRequest: RouteRequest = {
      authority: this.authority,
      method: this.method,
      path: this.path,
      scheme: this.conn.tls ? 'https' : 'http',
      headers: this.req.headers,
    };
    const selection = this.select(config, routeRequest);
    if (!selection) return this.localReply(404, ResponseFlag.noRoute, '');
    this.selection = selection;
    if (this.answeredByRoute(selection, routeRequest)) return;
    const delay = selection.route.config.fault?.delay;
    if (delay && Math.random() * 100 < delay.percentage) {
      setTimeout(() => this.afterDelay(config, routeRequest, ResponseFlag.delayInjected), delay.fixedDelayMs);
      return;
    }
    this.afterDelay(config, routeRequest, ResponseFlag.none);
  }

  /** The path authorization, routing, telemetry and the application see (path-normalization.ts); else 400. */
  private normalizePath(config: CompiledConfig): boolean {
    const normalized = normalizePath(this.path, config.raw.security.pathNormalization ?? 'BASE');
    if ('path' in normalized) {
      this.path = normalized.path;
      return true;
    }
    this.localReply(400, ResponseFlag.none, normalized.error);
    return false;
  }

  /** Inbound: strips the peer-metadata header (trusted only over mTLS) and enforces authorization. */
  private admitInbound(config: CompiledConfig): boolean {
    this.peer = this.conn.peerIdentity
      ? decodePeerMetadata(this.req.headers[PEER_METADATA_HEADER])
      : undefined;
    delete this.req.headers[PEER_METADATA_HEADER];
    if (this.authorized(config)) return true;
    this.localReply(403, ResponseFlag.rbacDenied, RBAC_DENIED);
    return false;
  }

  /** CORS preflights, direct responses and redirects: answered here, never forwarded. */
  private answeredByRoute(selection: RouteSelection, routeRequest: RouteRequest): boolean {
    const route = selection.route.config;
    if (this.method === 'OPTIONS' && selection.route.cors) {
      const preflight = selection.route.cors.preflight(
        headerValue(this.req.headers.origin),
        headerValue(this.req.headers['access-control-request-method']),
      );
      if (preflight) {
        this.reply(200, preflight, '', ResponseFlag.none);
        return true;
      }
    }
    if (route.directResponse) {
      this.reply(route.directResponse.status, {}, route.directResponse.body ?? '', ResponseFlag.none);
      return true;
    }
    if (route.redirect) {
      const location = selection.route.redirectLocation(routeRequest, selection.matchIndex);
      this.reply(selection.route.redirectCode, { location }, '', ResponseFlag.none);
      return true;
    }
    return false;
  }

  private afterDelay(config: CompiledConfig, routeRequest: RouteRequest, flag: string): void {
    const selection = this.selection!;
    const route = selection.route.config;
    // The cluster is chosen before a fault abort, as Envoy's router resolves it: an aborted request
    // is still reported against the service it was for (destination_service, not "unknown").
    const weighted = selection.route.pickCluster(Math.random());
    const cluster = weighted && config.clusters.get(weighted.cluster);
    if (cluster) this.clusterName = cluster.name;
    const abort = route.fault?.abort;
    if (abort && Math.random() * 100 < abort.percentage) return this.injectAbort(route, flag);
    if (!cluster) return this.localReply(503, ResponseFlag.noHealthyUpstream, 'no healthy upstream');
    const headers = this.upstreamHeaders(route, weighted, routeRequest.scheme);
    const path = selection.route.rewritePath(this.path, selection.matchIndex);
    const upgrade = isUpgrade(this.req);
    if (upgrade) return this.tunnel(cluster, path, headers, upgrade);
    const retry = config.retryPolicies.get(route)!;
    const start = (body: Buffer | DownstreamRequest | null, recorded?: BodyRecorder): void => {
      if (route.mirror && body !== this.req)
        mirror(config, route.mirror, this.method, path, headers, body as Buffer | null);
      this.exchange = new UpstreamExchange(
        {
          cluster,
          method: this.method,
          path,
          headers,
          body,
          recorded,
          retry,
          timeoutMs: route.timeoutMs ?? 0,
          hashKey: hashKeyFor(cluster.config.loadBalancer, {
            headers: this.req.headers,
            sourceIp: this.conn.remoteAddress,
            path: this.path,
          }),
          editResponseHeaders: this.responseEditor(route, weighted),
        },
        this.res,
        (result) => this.finished(result, flag),
      );
      this.exchange.start();
    };
    this.readBody(retry.attempts > 0 || route.mirror !== undefined, start);
  }

  /** An upgrade: one host, one raw connection, bytes both ways (no retries, no body buffering). */
  private tunnel(cluster: UpstreamCluster, path: string, headers: HeaderMap, upgrade: UpgradeRequest): void {
    const host = cluster.pick(
      hashKeyFor(cluster.config.loadBalancer, {
        headers: this.req.headers,
        sourceIp: this.conn.remoteAddress,
        path: this.path,
      }),
    );
    if (!host) return this.localReply(503, ResponseFlag.noHealthyUpstream, 'no healthy upstream');
    const token = headerValue(this.req.headers.upgrade) ?? 'websocket';
    const args = { cluster, host, method: this.method, path, headers, upgrade: token, downstream: upgrade };
    tunnelUpgrade({ ...args, res: this.res }, (result) => this.finished(result, ResponseFlag.none));
  }

  /** The request headers as they go upstream: hop-by-hop removed, tracing, forwarding and rewrites applied. */
  private upstreamHeaders(route: Route, weighted: WeightedCluster, scheme: string): HeaderMap {
    const headers = upstreamRequestHeaders(
      this.req.headers,
      this.selection!.route.rewriteAuthority(this.authority),
    );
    this.requestId = propagateTrace(headers).requestId;
    appendForwardedFor(headers, this.conn.remoteAddress);
    headers['x-forwarded-proto'] ??= scheme;
    applyHeaderOperations(headers, route.headers?.request);
    applyHeaderOperations(headers, weighted.headers?.request);
    if (this.options.direction !== 'inbound')
      headers[PEER_METADATA_HEADER] = encodePeerMetadata(this.options.self());
    else setClientCertHeader(headers, this.conn.peerIdentity);
    return headers;
  }

  /** Response header rewrites and CORS headers, or undefined when the route has none (the common case). */
  private responseEditor(route: Route, weighted: WeightedCluster): ((h: HeaderMap) => void) | undefined {
    const cors = this.selection!.route.cors?.responseHeaders(headerValue(this.req.headers.origin));
    const routeOps = route.headers?.response;
    const clusterOps = weighted.headers?.response;
    if (!routeOps && !clusterOps && !cors) return undefined;
    return (h) => {
      applyHeaderOperations(h, routeOps);
      applyHeaderOperations(h, clusterOps);
      if (cors) Object.assign(h, cors);
    };
  }

  /** Buffers a small body (replayable for retries and mirrors); streams anything else. */
  private readBody(
    wantReplay: boolean,
    start: (body: Buffer | DownstreamRequest | null, recorded?: BodyRecorder) => void,
  ): void {
    const length = Number(headerValue(this.req.headers['content-length']) ?? 0);
    const h2 = (this.req as { stream?: { endAfterHeaders?: boolean } }).stream;
    const hasBody = h2
      ? h2.endAfterHeaders !== true
      : length > 0 || this.req.headers['transfer-encoding'] !== undefined;
    const chunked = hasBody && !(length > 0);
    if (!hasBody) {
      this.req.resume();
      return start(null);
    }
    if (!wantReplay || chunked || length > REPLAYABLE_BODY_BYTES) {
      // Without a length (gRPC, chunked) the body streams and a copy is kept for a retry.
      const recorded = wantReplay && chunked ? new BodyRecorder(REPLAYABLE_BODY_BYTES) : undefined;
      this.req.on('data', (c: Buffer) => {
        this.requestBytes += c.length;
        recorded?.add(c);
      });
      if (recorded) this.req.once('end', () => recorded.end());
      // A 'data' listener switches the body to flowing: chunks arriving before the upstream
      // connection reads the body would be emitted to this counter only, and lost. The exchange
      // resumes it when it starts sending.
      this.req.pause();
      return start(this.req, recorded);
    }
    const chunks: Buffer[] = [];
    this.req.on('data', (c: Buffer) => {
      this.requestBytes += c.length;
      chunks.push(c);
    });
    this.req.once('end', () => start(Buffer.concat(chunks)));
  }

  private authorized(config: CompiledConfig): boolean {
    if (config.authorizer.empty) return true;
    const decision = config.authorizer.check({
      principal: this.conn.peerIdentity,
      sourceIp: this.conn.remoteAddress,
      destinationPort: this.conn.targetPort ?? this.options.listenerPort,
      http: true,
      host: this.authority,
      method: this.method,
      path: this.path,
      headers: this.req.headers,
    });
    return decision.allowed;
  }

  /**
   * The route for the request's authority; for a captured connection whose Host names no service
   * (a client calling an address, or sending another name), then the route for the address it
   * connected to, as Istio lists a service's VIP among its domains.
   */
  private select(config: CompiledConfig, routeRequest: RouteRequest): RouteSelection | undefined {
    const routes = this.listener(config)?.routes;
    const selection = routes?.select(routeRequest);
    const dst = this.conn.originalDestination;
    if (selection || dst === undefined || dst === routeRequest.authority) return selection;
    return routes?.select({ ...routeRequest, authority: dst });
  }

  private listener(config: CompiledConfig): ActiveListener | undefined {
    const { direction } = this.options;
    if (direction === 'outbound')
      return config.outbound.get(this.conn.targetPort ?? authorityPort(this.authority));
    // A terminated gateway connection: the Gateway server its server name chose routes it.
    if (direction === 'gateway' && this.conn.gatewayListener !== undefined)
      return config.gatewayByName.get(this.conn.gatewayListener);
    const byPort = direction === 'inbound' ? config.inbound : config.gateway;
    const port = this.conn.targetPort ?? this.options.listenerPort;
    return byPort.get(port) ?? (byPort.size === 1 ? byPort.values().next().value : undefined);
  }

  private injectAbort(route: Route, flag: string): void {
    const abort = route.fault!.abort!;
    const fi =
      flag === ResponseFlag.none ? ResponseFlag.faultInjected : `${flag},${ResponseFlag.faultInjected}`;
    if (abort.grpcStatus !== undefined) {
      return this.reply(
        200,
        {
          'content-type': 'application/grpc',
          'grpc-status': grpcCode(abort.grpcStatus),
          'grpc-message': 'fault filter abort',
        },
        '',
        fi,
      );
    }
    this.reply(abort.httpStatus ?? 503, { 'content-type': 'text/plain' }, 'fault filter abort', fi);
  }

  private localReply(status: number, flags: string, body: string): void {
    this.reply(status, { 'content-type': 'text/plain' }, body, flags);
  }

  private reply(status: number, headers: Record<string, string>, body: string, flags: string): void {
    this.req.resume();
    const sent = sendLocalReply(this.res, isGrpcRequest(this.req.headers), status, body, headers);
    this.finished(
      {
        status: sent.status,
        flags,
        upstreamHost: undefined,
        attempts: 0,
        responseBytes: sent.bytes,
        grpcStatus: sent.grpcStatus,
        upstreamServiceTimeMs: 0,
      },
      ResponseFlag.none,
    );
  }

  private finished(result: ExchangeResult, extraFlag: string): void {
    const config = this.options.config();
    recordRequest(this.options, {
      req: this.req,
      conn: this.conn,
      startedAt: this.startedAt,
      durationMs: performance.now() - this.startedHr,
      authority: this.authority,
      method: this.method,
      path: this.path,
      requestBytes: this.requestBytes,
      requestId: this.requestId,
      peer: this.peer,
      cluster: this.clusterName ? config?.clusters.get(this.clusterName) : undefined,
      routeName: this.selection?.route.name,
      flags: joinFlags(extraFlag, result.flags),
      result,
    });
  }
}

function joinFlags(first: string, second: string): string {
  if (first === ResponseFlag.none) return second;
  return second === ResponseFlag.none ? first : `${first},${second}`;
}

/** The port an outbound request without a captured destination meant: the authority's, else 80. */
export function authorityPort(authority: string): number {
  const m = /:(\d+)$/.exec(authority);
  return m ? Number(m[1]) : 80;
}

const GRPC_CODES: Record<string, string> = {
  OK: '0',
  CANCELLED: '1',
  UNKNOWN: '2',
  INVALID_ARGUMENT: '3',
  DEADLINE_EXCEEDED: '4',
  NOT_FOUND: '5',
  ALREADY_EXISTS: '6',
  PERMISSION_DENIED: '7',
  RESOURCE_EXHAUSTED: '8',
  FAILED_PRECONDITION: '9',
  ABORTED: '10',
  OUT_OF_RANGE: '11',
  UNIMPLEMENTED: '12',
  INTERNAL: '13',
  UNAVAILABLE: '14',
  DATA_LOSS: '15',
  UNAUTHENTICATED: '16',
};

function grpcCode(status: string): string {
  return GRPC_CODES[status.toUpperCase()] ?? (/^\d+$/.test(status) ? status : '2');
}
