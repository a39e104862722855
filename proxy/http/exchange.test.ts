import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import type { RetryPolicy } from '../config/generated/proxy-config.js';
import { compileRetryPolicy } from '../resilience/retry-policy.js';
import { UpstreamCluster, type UpstreamPool } from '../upstream/cluster.js';
import type { OutlierOutcome } from '../upstream/outlier-detection.js';
import type { DownstreamResponse } from './downstream.js';
import { UpstreamExchange, type ExchangeResult } from './exchange.js';

/** One scripted upstream answer: the response head, its DATA chunks, then its trailers. */
interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly data?: readonly string[];
  readonly trailers?: IncomingHttpHeaders;
  /** The stream is reset after the data, before any trailers. */
  readonly reset?: boolean;
  /** The connection fails before any response head (Error.code, e.g. ECONNRESET). */
  readonly failsBeforeHead?: string;
}

const GRPC_HEAD = { 'content-type': 'application/grpc' };
const trailersOnly = (grpcStatus: number): Answer => ({
  status: 200,
  headers: { ...GRPC_HEAD, 'grpc-status': String(grpcStatus) },
});

/** undici's controller, as far as the exchange uses it. */
class Controller {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

/** A host's pool that plays the scripted answers in order, one per attempt (the last one repeats). */
class ScriptedPool implements UpstreamPool {
  constructor(private readonly answers: Answer[]) {}

  dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const answer = this.answers.length > 1 ? this.answers.shift()! : this.answers[0]!;
    setImmediate(() => play(handler, answer));
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function play(handler: Dispatcher.DispatchHandler, answer: Answer): void {
  const controller = new Controller();
  const c = controller as unknown as Dispatcher.DispatchController;
  handler.onRequestStart?.(c, {});
  if (answer.failsBeforeHead)
    return handler.onResponseError?.(
      c,
      Object.assign(new Error('socket hang up'), { code: answer.failsBeforeHead }),
    );
  handler.onResponseStart?.(c, answer.status, answer.headers);
  // An attempt the exchange abandoned for a retry ends in an error, as undici reports an abort.
  if (controller.aborted) return handler.onResponseError?.(c, controller.reason!);
  for (const chunk of answer.data ?? []) handler.onResponseData?.(c, Buffer.from(chunk));
  if (answer.reset) return handler.onResponseError?.(c, new Error('stream reset'));
  handler.onResponseEnd?.(c, answer.trailers ?? {});
}

/** The downstream response, recorded. */
class RecordedResponse implements DownstreamResponse {
  headersSent = false;
  writableEnded = false;
  statusCode = 200;
  readonly head: OutgoingHttpHeaders = {};
  readonly body: Buffer[] = [];
  trailers: OutgoingHttpHeaders = {};

  setHeader(name: string, value: string | string[]): void {
    this.head[name] = value;
  }
  writeHead(status: number, headers: OutgoingHttpHeaders = {}): void {
    this.statusCode = status;
    Object.assign(this.head, headers);
    this.headersSent = true;
  }
  write(chunk: Buffer): boolean {
    this.headersSent = true;
    this.body.push(chunk);
    return true;
  }
  end(): void {
    this.headersSent = true;
    this.writableEnded = true;
  }
  addTrailers(headers: OutgoingHttpHeaders): void {
    this.trailers = headers;
  }
  once(): void {}
  destroy(): void {}
}

/**
 * Runs one exchange against a one-host cluster whose host answers with `answers`, and returns how
 * it ended and what outlier detection was told.
 */
async function exchange(
  answers: Answer[],
  options: { retry?: RetryPolicy; grpc?: boolean; maxRetries?: number; retriesInFlight?: number } = {},
): Promise<{ result: ExchangeResult; outlier: OutlierOutcome[]; res: RecordedResponse }> {
  const grpc = options.grpc ?? true;
  const cluster = new UpstreamCluster(
    {
      name: 'outbound|9080||svc',
      type: 'static',
      protocol: grpc ? 'grpc' : 'http',
      outlierDetection: {},
      ...(options.maxRetries !== undefined ? { connectionPool: { maxRetries: options.maxRetries } } : {}),
    },
    { credentials: () => undefined },
  );
  cluster.setEndpoints([{ address: '10.0.0.1', port: 9080 }]);
  // Retries of other requests to the cluster, holding its retries circuit breaker.
  for (let i = 0; i < (options.retriesInFlight ?? 0); i++) assert.ok(cluster.breaker.tryStartRetry());
  const pool = new ScriptedPool(answers);
  cluster.dispatcher = () => pool;
  const outlier: OutlierOutcome[] = [];
  const record = cluster.outlier.record.bind(cluster.outlier);
  cluster.outlier.record = (host, outcome, hostCount) => {
    outlier.push(outcome);
    return record(host, outcome, hostCount);
  };
  const res = new RecordedResponse();
  const result = await new Promise<ExchangeResult>((resolve) => {
    new UpstreamExchange(
      {
        cluster,
        method: 'POST',
        path: '/weft.test.Echo/Say',
        headers: grpc ? { ...GRPC_HEAD, te: 'trailers' } : {},
        body: Buffer.alloc(0),
        retry: compileRetryPolicy(options.retry ?? { attempts: 0 }, 'retry'),
        timeoutMs: 0,
        hashKey: undefined,
        editResponseHeaders: undefined,
      },
      res,
      resolve,
    ).start();
  });
  return { result, outlier, res };
}

const RETRY_UNAVAILABLE: RetryPolicy = { attempts: 2, retryOn: ['unavailable'] };

describe('UpstreamExchange response flags', () => {
  it('sets URX when the retries on a trailers-only grpc-status run out on that status (Envoy)', async () => {
    const { result } = await exchange([trailersOnly(14)], { retry: RETRY_UNAVAILABLE });
    assert.equal(result.attempts, 3);
    assert.equal(result.status, 200);
    assert.equal(result.grpcStatus, '14');
    assert.equal(result.flags, 'URX');
  });

  it('sets no URX when the last attempt answered a grpc-status the policy does not retry', async () => {
    const { result } = await exchange([trailersOnly(14), trailersOnly(5)], { retry: RETRY_UNAVAILABLE });
    assert.equal(result.attempts, 2);
    assert.equal(result.grpcStatus, '5');
    assert.equal(result.flags, '-');
  });

  it('sets no URX when a retry succeeded', async () => {
    const ok: Answer = { status: 200, headers: GRPC_HEAD, data: ['ok'], trailers: { 'grpc-status': '0' } };
    const { result } = await exchange([trailersOnly(14), ok], { retry: RETRY_UNAVAILABLE });
    assert.equal(result.attempts, 2);
    assert.equal(result.grpcStatus, '0');
    assert.equal(result.flags, '-');
  });

  it('sets URX, as before, when an HTTP request is answered 503 after its retries', async () => {
    const unavailable: Answer = { status: 503, headers: {}, data: ['busy'] };
    const { result, res } = await exchange([unavailable], {
      grpc: false,
      retry: { attempts: 1, retryOn: ['5xx'] },
    });
    assert.equal(result.attempts, 2);
    assert.equal(result.status, 503);
    assert.equal(result.flags, 'URX');
    assert.equal(Buffer.concat(res.body).toString(), 'busy');
  });

  it('sets no URX when the last answer, after a retry, is a 5xx the policy does not retry', async () => {
    const unavailable: Answer = { status: 503, headers: {}, data: ['busy'] };
    const failed: Answer = { status: 500, headers: {}, data: ['broken'] };
    const { result } = await exchange([unavailable, failed], {
      grpc: false,
      retry: { attempts: 2, retryOn: ['gateway-error'] },
    });
    assert.equal(result.attempts, 2);
    assert.equal(result.status, 500);
    assert.equal(result.flags, '-', 'Envoy flags URX only when a retriable answer met the retry limit');
  });

  it('sets no flag for a failure on a route without retries (attempts 0: no retry policy)', async () => {
    const unavailable: Answer = { status: 503, headers: {}, data: ['busy'] };
    const { result } = await exchange([unavailable], {
      grpc: false,
      retry: { attempts: 0, retryOn: ['5xx'] },
    });
    assert.equal(result.attempts, 1);
    assert.equal(result.flags, '-');
  });

  it('sets UO, not URX, when the retries circuit breaker refuses the retry (Envoy)', async () => {
    const unavailable: Answer = { status: 503, headers: {}, data: ['busy'] };
    const { result, res } = await exchange([unavailable], {
      grpc: false,
      retry: { attempts: 3, retryOn: ['5xx'] },
      maxRetries: 1,
      retriesInFlight: 1,
    });
    assert.equal(result.attempts, 1, 'the breaker allowed no retry');
    assert.equal(result.status, 503);
    assert.equal(result.flags, 'UO');
    assert.equal(Buffer.concat(res.body).toString(), 'busy', "the upstream's answer is passed on");
  });

  it('adds UO to the reset flag when a failed connection is not retried for the breaker', async () => {
    const { result } = await exchange([{ status: 0, headers: {}, failsBeforeHead: 'ECONNRESET' }], {
      grpc: false,
      retry: { attempts: 3, retryOn: ['reset'] },
      maxRetries: 1,
      retriesInFlight: 1,
    });
    assert.equal(result.attempts, 1);
    assert.equal(result.status, 503);
    assert.equal(result.flags, 'UC,UO');
  });
});

/** A gRPC response in the normal shape: HEADERS (200, no grpc-status), DATA, then trailers. */
const streamed = (trailers: IncomingHttpHeaders): Answer => ({
  status: 200,
  headers: GRPC_HEAD,
  data: ['message'],
  trailers,
});

describe('UpstreamExchange outlier detection reports, once per attempt', () => {
  it('counts a grpc-status in the trailers as the HTTP status it maps to (UNAVAILABLE: 503)', async () => {
    const { result, outlier, res } = await exchange([streamed({ 'grpc-status': '14' })]);
    assert.deepEqual(outlier, ['gateway-error']);
    assert.equal(result.grpcStatus, '14');
    assert.equal(result.flags, '-');
    assert.deepEqual(res.trailers, { 'grpc-status': '14' }, 'the trailers still reach the client');
  });

  it('counts INTERNAL in the trailers as a 5xx that is no gateway error, and OK as a success', async () => {
    assert.deepEqual((await exchange([streamed({ 'grpc-status': '13' })])).outlier, ['http-5xx']);
    assert.deepEqual((await exchange([streamed({ 'grpc-status': '0' })])).outlier, ['success']);
  });

  it('counts a gRPC response that ends without grpc-status as its HTTP status', async () => {
    assert.deepEqual((await exchange([streamed({})])).outlier, ['success']);
  });

  it('counts a gRPC response reset before its trailers once, as its head said', async () => {
    const { result, outlier } = await exchange([{ ...streamed({}), reset: true }]);
    assert.deepEqual(outlier, ['success']);
    assert.equal(result.flags, 'UC');
  });

  it('counts each trailers-only attempt of a retried call at its head', async () => {
    const { outlier } = await exchange([trailersOnly(14)], { retry: RETRY_UNAVAILABLE });
    assert.deepEqual(outlier, ['gateway-error', 'gateway-error', 'gateway-error']);
  });

  it('leaves HTTP as it was: the head decides, a grpc-status in the trailers is not read', async () => {
    const http = await exchange(
      [{ status: 200, headers: {}, data: ['ok'], trailers: { 'grpc-status': '14' } }],
      {
        grpc: false,
      },
    );
    assert.deepEqual(http.outlier, ['success']);
    const failed = await exchange([{ status: 503, headers: {}, data: ['busy'] }], { grpc: false });
    assert.deepEqual(failed.outlier, ['gateway-error']);
  });
});
