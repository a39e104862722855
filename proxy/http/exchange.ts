import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { CompiledRetryPolicy } from '../resilience/retry-policy.js';
import type { UpstreamCluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/host.js';
import type { BodyRecorder } from './body-recorder.js';
import type { DownstreamRequest, DownstreamResponse } from './downstream.js';
import { grpcToHttpStatus, isGrpcRequest, sendLocalReply, setResponseHead } from './grpc.js';
import { downstreamResponseHeaders, type HeaderMap } from './headers.js';
import { classifyUpstreamError, ResponseFlag, type UpstreamErrorKind } from './outcome.js';

/** Everything one proxied request needs to go upstream, decided by routing before it starts. */
export interface ExchangeSpec {
  readonly cluster: UpstreamCluster;
  readonly method: string;
  readonly path: string;
  readonly headers: HeaderMap;
  /** A buffered body can be replayed for a retry; a streamed one only through `recorded`. */
  readonly body: Buffer | DownstreamRequest | null;
  /** The copy of a streamed body (one without a length): a retry replays it once the body ended. */
  readonly recorded?: BodyRecorder | undefined;
  readonly retry: CompiledRetryPolicy;
  /** Route timeout over all attempts; 0 disables it (Istio's default for HTTP). */
  readonly timeoutMs: number;
  readonly hashKey: string | undefined;
  /** Called on the response headers before they go downstream (header rewrites, CORS). */
  readonly editResponseHeaders: ((headers: HeaderMap) => void) | undefined;
}

/** How the exchange ended, for metrics and the access log. */
export interface ExchangeResult {
  status: number;
  flags: string;
  upstreamHost: UpstreamHost | undefined;
  attempts: number;
  responseBytes: number;
  grpcStatus: string | undefined;
  upstreamServiceTimeMs: number;
}

const TEXT_PLAIN = { 'content-type': 'text/plain' };

class RetryAbort extends Error {}
class TimeoutAbort extends Error {}

/**
 * One downstream request's trip upstream: host choice, circuit breaking, attempts with retries and
 * timeouts, and relaying the response with backpressure. It writes the downstream response
 * itself (including local replies such as 503 UO), then calls `done` exactly once.
 */
export class UpstreamExchange {
  private attempt = 0;
  private current: AttemptHandler | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The retry back-off in progress: between two attempts, no attempt for a timeout to abort. */
  private backoff: NodeJS.Timeout | undefined;
  private timedOut = false;
  private finished = false;
  /**
   * Why a retriable failure was not retried, as Envoy's router flags it: URX when the route's
   * attempts ran out (RetryStatus::NoRetryLimitExceeded), UO when the retry budget or the retries
   * circuit breaker refused it (NoOverflow, envoyproxy/envoy#1588). Undefined otherwise: a retry
   * that succeeded, an answer the policy does not retry, a route timeout, a body too large to replay.
   */
  private retryRefused: string | undefined;
  /** What the next attempt sends: the spec's body, or the recorded copy of a streamed one. */
  private body: Buffer | DownstreamRequest | null;
  private readonly startedAt = performance.now();
  readonly result: ExchangeResult = {
    status: 0,
    flags: ResponseFlag.none,
    upstreamHost: undefined,
    attempts: 0,
    responseBytes: 0,
    grpcStatus: undefined,
    upstreamServiceTimeMs: 0,
  };

  constructor(
    readonly spec: ExchangeSpec,
    readonly res: DownstreamResponse,
    private readonly done: (result: ExchangeResult) => void,
  ) {
    this.body = spec.body;
  }

  start(): void {
    if (this.spec.timeoutMs > 0) {
      this.timer = setTimeout(() => this.onRouteTimeout(), this.spec.timeoutMs);
    }
    this.res.once('close', () => {
      if (this.finished) return;
      this.current?.abort(new Error('downstream closed'));
      this.finish(0, ResponseFlag.downstreamClosed);
    });
    this.dispatch();
  }

  /** The first attempt, or a retry. */
  private dispatch(): void {
    const { cluster } = this.spec;
    const host = cluster.pick(this.spec.hashKey);
    if (!host) return this.localReply(503, ResponseFlag.noHealthyUpstream, 'no healthy upstream');
    if (!cluster.breaker.tryStartRequest()) return this.overflow();
    let pending = false;
    if (cluster.inflight >= cluster.maxConnections) {
      if (!cluster.breaker.tryStartPending()) {
        cluster.breaker.endRequest();
        return this.overflow();
      }
      pending = true;
    }
    this.attempt += 1;
    this.result.attempts = this.attempt;
    this.result.upstreamHost = host;
    const handler = new AttemptHandler(this, host, pending, this.spec.retry.perTryTimeoutMs);
    this.current = handler;
    cluster
      .dispatcher(host)
      .dispatch(
        { method: this.spec.method, path: this.spec.path, headers: this.spec.headers, body: this.body },
        handler,
      );
  }

  private overflow(): void {
    this.localReply(
      503,
      ResponseFlag.upstreamOverflow,
      'upstream connect error or disconnect/reset before headers. reset reason: overflow',
    );
  }

  /**
   * Whether another attempt may start now, taking a retry slot (budget and breaker) if so; when not,
   * the response flag that says why, if any (see retryRefused).
   */
  private takeRetry(): true | { flag: string | undefined } {
    const { spec } = this;
    if (this.timedOut) return { flag: undefined };
    if (this.attempt > spec.retry.attempts) return { flag: ResponseFlag.retriesExhausted };
    const body = this.body === null || Buffer.isBuffer(this.body) ? this.body : spec.recorded?.replay();
    if (body === undefined) return { flag: undefined };
    if (!spec.cluster.retryBudget.tryStart(spec.cluster.inflight + 1))
      return { flag: ResponseFlag.upstreamOverflow };
    if (!spec.cluster.breaker.tryStartRetry()) {
      spec.cluster.retryBudget.end();
      return { flag: ResponseFlag.upstreamOverflow };
    }
    this.body = body;
    return true;
  }

  /** An attempt failed before any response byte went downstream: retry or answer. */
  attemptFailed(outcome: { status: number; grpcStatus?: number } | { error: UpstreamErrorKind }): boolean {
    // No retries (attempts 0) is no retry policy at all, as Istio configures Envoy: nothing is
    // refused, so no URX either.
    if (this.spec.retry.attempts === 0 || !this.spec.retry.shouldRetry(outcome)) return false;
    const taken = this.takeRetry();
    if (taken !== true) {
      this.retryRefused = taken.flag;
      return false;
    }
    const delay = this.spec.retry.backoffMs(this.attempt, Math.random());
    this.backoff = setTimeout(() => {
      this.endBackoff();
      if (!this.finished) this.dispatch();
    }, delay);
    return true;
  }

  /** The back-off is over (or cut short): its retry slot goes back to the budget and the breaker. */
  private endBackoff(): void {
    clearTimeout(this.backoff);
    this.backoff = undefined;
    this.spec.cluster.retryBudget.end();
    this.spec.cluster.breaker.endRetry();
  }

  attemptErrored(kind: UpstreamErrorKind, err: Error): void {
    if (this.finished) return;
    if (this.res.headersSent) {
      // Mid-body: the client already has a status line; all that is left is to reset it too.
      this.res.destroy(err);
      return this.finish(this.result.status, ResponseFlag.upstreamReset);
    }
    if (this.attemptFailed({ error: kind })) return;
    const refused = this.retryRefused ? `,${this.retryRefused}` : '';
    if (kind === 'timeout')
      return this.localReply(504, ResponseFlag.upstreamTimeout + refused, 'upstream request timeout');
    const reason =
      kind === 'connect-failure'
        ? 'connection failure'
        : kind === 'refused-stream'
          ? 'refused stream'
          : 'connection termination';
    const flag =
      kind === 'connect-failure' ? ResponseFlag.upstreamConnectFailure : ResponseFlag.upstreamReset;
    this.localReply(
      503,
      flag + refused,
      `upstream connect error or disconnect/reset before headers. reset reason: ${reason}${kind === 'connect-failure' ? `, transport failure reason: ${err.message}` : ''}`,
    );
  }

  respond(status: number, headers: HeaderMap): void {
    this.result.status = status;
    this.result.upstreamServiceTimeMs = performance.now() - this.startedAt;
    const grpc = headers['grpc-status'];
    if (typeof grpc === 'string') this.result.grpcStatus = grpc;
    downstreamResponseHeaders(headers);
    this.spec.editResponseHeaders?.(headers);
    // grpc-status in the headers: a gRPC trailers-only response, which must stay one downstream.
    if (typeof grpc === 'string') setResponseHead(this.res, status, headers);
    else this.res.writeHead(status, headers);
  }

  complete(trailers: IncomingHttpHeaders): void {
    const grpc = trailers['grpc-status'];
    if (typeof grpc === 'string') this.result.grpcStatus = grpc;
    if (hasKeys(trailers)) this.res.addTrailers(trailers);
    this.res.end();
    // The head passed on was a retriable failure whose retry was refused: URX or UO (retryRefused).
    this.finish(this.result.status, this.retryRefused ?? ResponseFlag.none);
  }

  private onRouteTimeout(): void {
    this.timedOut = true;
    if (this.res.headersSent) return;
    // During a retry back-off there is no attempt to abort: answer now, or the retry would start
    // after the timeout and run unbounded.
    // UT alone, as Envoy's router flags a route timeout whether or not a retry was pending.
    if (this.backoff) {
      this.endBackoff();
      return this.localReply(504, ResponseFlag.upstreamTimeout, 'upstream request timeout');
    }
    this.current?.abort(new TimeoutAbort('route timeout'));
  }

  private localReply(status: number, flags: string, body: string): void {
    if (this.finished) return;
    if (this.res.headersSent) {
      this.result.responseBytes = Buffer.byteLength(body);
      return this.finish(status, flags);
    }
    const grpc = isGrpcRequest(this.spec.headers);
    const sent = sendLocalReply(this.res, grpc, status, body, TEXT_PLAIN);
    this.result.responseBytes = sent.bytes;
    this.result.grpcStatus = sent.grpcStatus;
    this.finish(sent.status, flags);
  }

  private finish(status: number, flags: string): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.result.status = status;
    this.result.flags = flags;
    this.done(this.result);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  isTimeoutAbort(err: Error): boolean {
    return err instanceof TimeoutAbort;
  }

  isRetryAbort(err: Error): boolean {
    return err instanceof RetryAbort;
  }

  static retryAbort(): Error {
    return new RetryAbort('retrying');
  }
}

/**
 * One attempt: undici's dispatch handler. Stale callbacks of an abandoned attempt are ignored, and
 * the host's and cluster's counters are released exactly once.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private released = false;
  private perTryTimer: NodeJS.Timeout | undefined;
  private perTryTimedOut = false;
  private abortedReason: Error | undefined;
  /**
   * The HTTP status of a gRPC response head that carried no grpc-status, whose report to outlier
   * detection waits for the grpc-status in the trailers; undefined once reported (or never deferred).
   */
  private deferredOutlierStatus: number | undefined;

  constructor(
    private readonly exchange: UpstreamExchange,
    private readonly host: UpstreamHost,
    private pending: boolean,
    perTryTimeoutMs: number | undefined,
  ) {
    const { cluster } = exchange.spec;
    cluster.inflight += 1;
    host.activeRequests += 1;
    if (perTryTimeoutMs !== undefined && perTryTimeoutMs > 0) {
      this.perTryTimer = setTimeout(() => {
        this.perTryTimedOut = true;
        this.abort(new TimeoutAbort('per-try timeout'));
      }, perTryTimeoutMs);
    }
  }

  abort(reason: Error): void {
    this.abortedReason ??= reason;
    if (this.controller && !this.controller.aborted) this.controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortedReason) controller.abort(this.abortedReason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.releasePending();
    clearTimeout(this.perTryTimer);
    const { exchange } = this;
    const grpc = headers['grpc-status'];
    const grpcStatus = typeof grpc === 'string' ? Number(grpc) : undefined;
    this.reportHead(status, grpcStatus);
    if (status >= 400 || (grpcStatus !== undefined && grpcStatus !== 0)) {
      if (exchange.attemptFailed({ status, ...(grpcStatus !== undefined ? { grpcStatus } : {}) })) {
        this.abortedReason = UpstreamExchange.retryAbort();
        controller.abort(this.abortedReason);
        this.release();
        return;
      }
    }
    exchange.respond(status, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const { res, result } = this.exchange;
    result.responseBytes += chunk.length;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.release();
    const grpc = trailers['grpc-status'];
    this.reportDeferred(typeof grpc === 'string' ? grpcToHttpStatus(Number(grpc)) : undefined);
    this.exchange.complete(trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error & { code?: string }): void {
    this.release();
    // A gRPC response cut off before its trailers counts as its head said, as any reset mid-body.
    this.reportDeferred(undefined);
    const reason = this.abortedReason;
    if (reason && this.exchange.isRetryAbort(reason)) return;
    if (this.exchange.isFinished) return;
    const timedOut = this.perTryTimedOut || (reason !== undefined && this.exchange.isTimeoutAbort(reason));
    const kind = classifyUpstreamError(err, timedOut);
    const { cluster } = this.exchange.spec;
    if (kind === 'connect-failure')
      cluster.outlier.record(this.host, 'connect-failure', cluster.hosts.length);
    this.exchange.attemptErrored(kind, err);
  }

  /**
   * Reports the attempt to outlier detection once its response head is in. A gRPC response counts
   * as the HTTP status its grpc-status maps to (Envoy's grpcToHttpStatus): from the head of a
   * trailers-only response at once; otherwise, when the head says 2xx, from the trailers, since the
   * 200 before them says nothing of the call's outcome (Envoy's router reports that 200 and leaves
   * the trailers to its host stats: envoyproxy/envoy#8228).
   */
  private reportHead(status: number, grpcStatus: number | undefined): void {
    if (grpcStatus !== undefined) return this.recordOutlier(grpcToHttpStatus(grpcStatus));
    if (status < 300 && isGrpcRequest(this.exchange.spec.headers)) {
      this.deferredOutlierStatus = status;
      return;
    }
    this.recordOutlier(status);
  }

  /** The deferred report: the trailers' grpc-status mapped, or the head's status without one. */
  private reportDeferred(trailerStatus: number | undefined): void {
    const headStatus = this.deferredOutlierStatus;
    if (headStatus === undefined) return;
    this.deferredOutlierStatus = undefined;
    this.recordOutlier(trailerStatus ?? headStatus);
  }

  private recordOutlier(status: number): void {
    const { cluster } = this.exchange.spec;
    cluster.outlier.record(this.host, outlierOutcome(status), cluster.hosts.length);
  }

  private releasePending(): void {
    if (!this.pending) return;
    this.pending = false;
    this.exchange.spec.cluster.breaker.endPending();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.perTryTimer);
    this.releasePending();
    const { cluster } = this.exchange.spec;
    cluster.inflight -= 1;
    this.host.activeRequests -= 1;
    cluster.breaker.endRequest();
  }
}

function outlierOutcome(status: number): 'success' | 'http-5xx' | 'gateway-error' {
  if (status === 502 || status === 503 || status === 504) return 'gateway-error';
  return status >= 500 ? 'http-5xx' : 'success';
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
