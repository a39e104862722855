import assert from 'node:assert/strict';
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import { waitUntil } from '../../test/helpers/wait.js';
import { classifyUpstreamError } from '../http/outcome.js';
import { issueCertificate } from '../../controllers/ca/issue.js';
import { plainConnector, simpleTlsConnector } from './connector.js';
import { Http2Pool, type Http2PoolOptions } from './http2-pool.js';

/** A real h2c server on loopback that records its sessions and streams and answers with `onStream`. */
interface TestServer {
  readonly port: number;
  readonly sessions: ServerHttp2Session[];
  readonly streams: { path: string; headers: IncomingHttpHeaders; stream: ServerHttp2Stream }[];
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const pools: Http2Pool[] = [];

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
});

async function startServer(
  onStream: TestServer['onStream'],
  settings: { maxConcurrentStreams?: number } = {},
  tls?: { readonly certPem: string; readonly keyPem: string },
): Promise<TestServer> {
  const server: Http2Server | Http2SecureServer = tls
    ? createSecureServer({ settings, cert: tls.certPem, key: tls.keyPem })
    : createServer({ settings });
  const state: TestServer = {
    port: 0,
    sessions: [],
    streams: [],
    onStream,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of state.sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('session', (s: ServerHttp2Session) => {
    state.sessions.push(s);
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    state.streams.push({ path: String(headers[':path']), headers, stream });
    state.onStream(stream, headers);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  Object.assign(state, { port: (server.address() as AddressInfo).port });
  servers.push(state);
  return state;
}

function pool(port: number, options: Partial<Http2PoolOptions> = {}): Http2Pool {
  const p = new Http2Pool({
    hostname: '127.0.0.1',
    port,
    connect: plainConnector(2_000),
    tls: false,
    maxConnections: Number.POSITIVE_INFINITY,
    maxRequestsPerConnection: undefined,
    idleTimeoutMs: 60_000,
    ...options,
  });
  pools.push(p);
  return p;
}

interface Outcome {
  status: number;
  headers: IncomingHttpHeaders;
  chunks: string[];
  trailers: IncomingHttpHeaders | undefined;
  error: (Error & { code?: string }) | undefined;
  /** Every handler callback, in order: each request ends with exactly one end or error. */
  events: string[];
}

/** Dispatches one request and records what its handler saw; `hooks` may steer it as the exchange does. */
function exchange(
  p: Http2Pool,
  opts: Partial<Dispatcher.DispatchOptions> = {},
  hooks: {
    onStart?: (c: Dispatcher.DispatchController) => void;
    onData?: (c: Dispatcher.DispatchController, chunk: Buffer) => void;
  } = {},
): Promise<Outcome> & { outcome: Outcome } {
  const outcome: Outcome = {
    status: 0,
    headers: {},
    chunks: [],
    trailers: undefined,
    error: undefined,
    events: [],
  };
  const promise = new Promise<Outcome>((resolve) => {
    p.dispatch(
      { method: 'POST', path: '/svc/Call', headers: { host: 'svc:9080' }, body: null, ...opts },
      {
        onResponseStart: (c, status, headers) => {
          outcome.events.push('start');
          outcome.status = status;
          outcome.headers = headers;
          hooks.onStart?.(c);
        },
        onResponseData: (c, chunk) => {
          outcome.chunks.push(chunk.toString());
          hooks.onData?.(c, chunk);
        },
        onResponseEnd: (_c, trailers) => {
          outcome.events.push('end');
          outcome.trailers = trailers;
          resolve(outcome);
        },
        onResponseError: (_c, err) => {
          outcome.events.push('error');
          outcome.error = err;
          resolve(outcome);
        },
      },
    );
  });
  return Object.assign(promise, { outcome });
}

/** Answers like a gRPC server: headers, the message, then grpc-status in trailers. */
function grpcAnswer(stream: ServerHttp2Stream, message: string, status = '0'): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () =>
    stream.sendTrailers({ 'grpc-status': status, 'grpc-message': 'done', 'x-trailer': 'kept' }),
  );
  stream.end(message);
}

function readAll(stream: ServerHttp2Stream, done: (body: string) => void): void {
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (c: string) => (body += c));
  stream.on('end', () => done(body));
}

describe('Http2Pool (h2c with prior knowledge)', () => {
  it('sends the request with its authority and body, and relays data and trailers', async () => {
    const server = await startServer((stream) =>
      readAll(stream, (body) => grpcAnswer(stream, `got ${body}`)),
    );
    const p = pool(server.port);
    const res = await exchange(p, {
      headers: { host: 'svc:9080', 'content-type': 'application/grpc', te: 'trailers' },
      body: Buffer.from('ping'),
    });
    assert.deepEqual(res.events, ['start', 'end']);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/grpc');
    assert.equal(res.chunks.join(''), 'got ping');
    assert.equal(res.trailers?.['grpc-status'], '0');
    assert.equal(res.trailers?.['x-trailer'], 'kept');
    const seen = server.streams[0]!.headers;
    assert.equal(seen[':authority'], 'svc:9080');
    assert.equal(seen[':method'], 'POST');
    assert.equal(seen[':scheme'], 'http');
    assert.equal(seen.te, 'trailers');
    assert.equal(seen.host, undefined, 'host travels as :authority');
  });

  it('ends a trailers-only response (HEADERS with END_STREAM) with grpc-status in the headers', async () => {
    const server = await startServer((stream) =>
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' },
        { endStream: true },
      ),
    );
    const res = await exchange(pool(server.port));
    assert.deepEqual(res.events, ['start', 'end']);
    assert.equal(res.headers['grpc-status'], '14');
    assert.deepEqual(res.chunks, []);
  });

  it('streams both ways: each request chunk is answered before the next is sent', async () => {
    const server = await startServer((stream) => {
      stream.respond({ ':status': 200 });
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => stream.write(`echo ${c};`));
      stream.on('end', () => stream.end());
    });
    const body = new PassThrough();
    const requestChunks = ['one', 'two', 'three'];
    let next = 0;
    body.write(requestChunks[next++]);
    const res = await exchange(
      pool(server.port),
      { body },
      {
        // The next request chunk goes only once the previous one's echo came back.
        onData: () => (next < requestChunks.length ? body.write(requestChunks[next++]) : body.end()),
      },
    );
    assert.deepEqual(res.events, ['start', 'end']);
    assert.equal(res.chunks.join(''), 'echo one;echo two;echo three;');
  });

  it('hands the handler the response start before its body, also when HEADERS and DATA arrive together', async () => {
    // respond() then end(body) in one tick, over TLS: both frames arrive in one record and are
    // read together, and Node emits 'response' a tick after it has pushed the DATA.
    const cert = issueCertificate({
      commonName: 'localhost',
      usage: 'server',
      validDays: 1,
      dnsNames: ['localhost'],
    });
    const server = await startServer(
      (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'text/plain' });
        stream.end('x'.repeat(1024));
      },
      {},
      cert,
    );
    const p = pool(server.port, { tls: true, connect: simpleTlsConnector('localhost', true, 2_000, ['h2']) });
    const bodyBeforeStart: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        let started = false;
        return exchange(
          p,
          { method: 'GET' },
          {
            onStart: () => (started = true),
            onData: () => {
              if (!started) bodyBeforeStart.push(i);
            },
          },
        );
      }),
    );
    assert.deepEqual(bodyBeforeStart, []);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(r.chunks.join('').length, 1024);
      assert.deepEqual(r.events, ['start', 'end']);
    }
  });

  it('multiplexes concurrent POSTs on one connection', async () => {
    let waiting: ServerHttp2Stream[] = [];
    const server = await startServer((stream) => {
      waiting.push(stream);
      // Every stream is held until all ten are open at once, which one connection must carry.
      if (waiting.length === 10) {
        for (const s of waiting) grpcAnswer(s, 'ok');
        waiting = [];
      }
    });
    const p = pool(server.port);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => exchange(p, { body: Buffer.from('x') })),
    );
    assert.ok(results.every((r) => r.status === 200 && r.trailers?.['grpc-status'] === '0'));
    assert.equal(server.sessions.length, 1);
  });

  it('applies backpressure: no data while paused, the server stalls, and all arrives after resume', async () => {
    const CHUNK = Buffer.alloc(16 * 1024, 'a');
    let written = 0;
    let serverBlocked = false;
    let serverFinished = false;
    const server = await startServer((stream) => {
      stream.respond({ ':status': 200 });
      const pump = (): void => {
        while (written < 4 * 1024 * 1024) {
          written += CHUNK.length;
          if (!stream.write(CHUNK)) {
            serverBlocked = true;
            stream.once('drain', pump);
            return;
          }
        }
        stream.end(() => (serverFinished = true));
      };
      pump();
    });
    let controller: Dispatcher.DispatchController | undefined;
    let received = 0;
    let chunksWhilePaused = 0;
    const res = exchange(
      pool(server.port),
      { method: 'GET', body: null },
      {
        onData: (c, chunk) => {
          received += chunk.length;
          if (controller) chunksWhilePaused += 1;
          else {
            controller = c;
            c.pause();
          }
        },
      },
    );
    await waitUntil('the server to be held back by flow control', () => ({
      done: controller !== undefined && serverBlocked,
      state: { written, received, serverBlocked },
    }));
    assert.equal(chunksWhilePaused, 0, 'a paused request receives nothing');
    assert.equal(serverFinished, false);
    assert.ok(received < written, `received ${received} of ${written} written`);
    controller!.resume();
    const outcome = await res;
    assert.deepEqual(outcome.events, ['start', 'end']);
    assert.equal(received, 4 * 1024 * 1024);
  });

  it('reports a stream the server refuses (RST_STREAM REFUSED_STREAM) as refused-stream', async () => {
    const server = await startServer((stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM));
    const res = await exchange(pool(server.port));
    assert.deepEqual(res.events, ['error']);
    assert.equal(classifyUpstreamError(res.error!, false), 'refused-stream');
  });

  it('on GOAWAY lets streams in flight finish, refuses the ones above the last id, and opens a new connection', async () => {
    const server = await startServer((stream, headers) => {
      if (headers[':path'] === '/first') return; // held until the GOAWAY went out
      if (headers[':path'] === '/second') {
        const first = server.streams.find((s) => s.path === '/first')!.stream;
        stream.session!.goaway(constants.NGHTTP2_NO_ERROR, first.id);
        grpcAnswer(first, 'first done');
        return;
      }
      grpcAnswer(stream, 'third done');
    });
    const p = pool(server.port);
    const first = exchange(p, { path: '/first' });
    await waitUntil('the first stream to reach the server', () => ({ done: server.streams.length === 1 }));
    const second = await exchange(p, { path: '/second' });
    assert.equal(classifyUpstreamError(second.error!, false), 'refused-stream');
    const firstDone = await first;
    assert.deepEqual(firstDone.events, ['start', 'end']);
    assert.equal(firstDone.chunks.join(''), 'first done');
    const third = await exchange(p, { path: '/third' });
    assert.equal(third.chunks.join(''), 'third done');
    assert.equal(server.sessions.length, 2, 'the request after GOAWAY went on a new connection');
    // Removed on the session's 'close': Node's own close after a GOAWAY would half-close and wait
    // for the server to close the socket, which a Node server never does.
    await waitUntil('the connection that got the GOAWAY to be closed', () => ({
      done: p.connectionCount === 1,
    }));
  });

  it('fails a request whose connection the server drops as a reset', async () => {
    const server = await startServer((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('partial', () => stream.session!.destroy());
    });
    const res = await exchange(pool(server.port));
    assert.deepEqual(res.events, ['start', 'error']);
    assert.equal(classifyUpstreamError(res.error!, false), 'reset');
  });

  it('fails queued requests with a connect failure when the host refuses connections', async () => {
    const server = await startServer(() => undefined);
    const { port } = server;
    await server.close();
    const p = pool(port);
    const results = await Promise.all([exchange(p), exchange(p)]);
    for (const r of results) {
      assert.deepEqual(r.events, ['error']);
      assert.equal(classifyUpstreamError(r.error!, false), 'connect-failure');
    }
  });

  it('closes a connection after its idle timeout', async () => {
    const server = await startServer((stream) => grpcAnswer(stream, 'ok'));
    const p = pool(server.port, { idleTimeoutMs: 50 });
    const res = await exchange(p);
    assert.equal(res.status, 200);
    await waitUntil('the idle connection to close', () => ({
      done: p.connectionCount === 0 && server.sessions[0]!.closed,
      state: { connections: p.connectionCount },
    }));
  });

  it('queues beyond the peer stream limit with maxConnections 1, and serves the queue in order', async () => {
    const order: string[] = [];
    const server = await startServer(
      (stream, headers) => {
        order.push(`open ${String(headers[':path'])}`);
        readAll(stream, () => {
          order.push(`answer ${String(headers[':path'])}`);
          grpcAnswer(stream, 'ok');
        });
      },
      { maxConcurrentStreams: 1 },
    );
    const p = pool(server.port, { maxConnections: 1 });
    // The first request teaches the pool the peer's limit (SETTINGS) before the pair below.
    await exchange(p, { path: '/warm' });
    const [a, b] = await Promise.all([exchange(p, { path: '/a' }), exchange(p, { path: '/b' })]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(server.sessions.length, 1);
    assert.deepEqual(order.slice(2), ['open /a', 'answer /a', 'open /b', 'answer /b']);
  });

  it('retires a connection after maxRequestsPerConnection streams', async () => {
    const server = await startServer((stream) => grpcAnswer(stream, 'ok'));
    const p = pool(server.port, { maxRequestsPerConnection: 2 });
    for (let i = 0; i < 3; i++) assert.equal((await exchange(p)).status, 200);
    assert.equal(server.sessions.length, 2);
    await waitUntil('the retired connection to be closed', () => ({
      done: server.sessions[0]!.closed && p.connectionCount === 1,
      state: p.connectionCount,
    }));
  });

  it('cancels the stream upstream when the handler aborts, and reports the reason once', async () => {
    const server = await startServer((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('first');
    });
    const reason = new Error('retrying');
    const res = await exchange(pool(server.port), {}, { onStart: (c) => c.abort(reason) });
    assert.deepEqual(res.events, ['start', 'error']);
    assert.equal(res.error, reason);
    const upstream = server.streams[0]!.stream;
    await waitUntil('the server to see the stream cancelled', () => ({
      done: upstream.closed && upstream.rstCode === constants.NGHTTP2_CANCEL,
      state: upstream.rstCode,
    }));
  });

  it('closes gracefully: a request in flight finishes, then the pool refuses new ones', async () => {
    const server = await startServer(() => undefined);
    const p = pool(server.port);
    const inflight = exchange(p);
    await waitUntil('the request to reach the server', () => ({ done: server.streams.length === 1 }));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    assert.equal(closed, false);
    grpcAnswer(server.streams[0]!.stream, 'finished');
    const res = await inflight;
    assert.equal(res.chunks.join(''), 'finished');
    await closing;
    assert.equal(p.connectionCount, 0);
    const late = await exchange(p);
    assert.deepEqual(late.events, ['error']);
  });
});
