import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  outboundConfig,
  route,
  send,
  SERVICE_PORT,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type Upstream,
} from '../helpers/proxy.js';
import { waitUntil } from '../helpers/wait.js';

const HOST = `Host: svc:${SERVICE_PORT}\r\n`;

/**
 * An upstream that records each request when its headers arrive (not only when its body ends), how
 * much of its body came, whether it was aborted before its end, and every connection, so a request
 * that reaches it only partly still shows.
 */
interface WatchedUpstream {
  readonly port: number;
  readonly connections: number;
  readonly requests: {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    bodyBytes: number;
    body?: string;
    aborted?: boolean;
  }[];
  close(): Promise<void>;
}

async function startWatchedUpstream(): Promise<WatchedUpstream> {
  const requests: WatchedUpstream['requests'] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const seen: WatchedUpstream['requests'][number] = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
    };
    requests.push(seen);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      seen.bodyBytes += Buffer.byteLength(c);
    });
    req.on('close', () => {
      if (!req.complete) seen.aborted = true;
    });
    req.on('end', () => {
      seen.body = body;
      res.end(`watched ${req.method} ${req.url}`);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One parsed HTTP/1.1 response off a raw socket. */
interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A raw client connection: writes bytes as given and parses responses off the wire itself
 * (Content-Length and chunked framing), so nothing between the test and the proxy normalises them.
 */
class RawConnection {
  private buffer = '';
  private waiter: (() => void) | undefined;
  closed = false;
  error: string | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      this.buffer += c;
      this.wake();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (this.error = e.code ?? e.message));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: string): void {
    this.socket.write(bytes, 'latin1');
  }

  /** Shuts down the write side (FIN), still reading: shutdown(SHUT_WR). */
  end(): void {
    this.socket.end();
  }

  /** Everything received until the peer closed the connection. */
  async untilClosed(): Promise<string> {
    await this.until(() => this.closed);
    return this.buffer;
  }

  /** The next complete response; throws if the connection closes first. */
  async readResponse(): Promise<RawResponse> {
    let parsed: { response: RawResponse; length: number } | undefined;
    await this.until(() => (parsed = parseResponse(this.buffer)) !== undefined || this.closed);
    if (!parsed) throw new Error(`connection closed before a whole response: ${JSON.stringify(this.buffer)}`);
    this.buffer = this.buffer.slice(parsed.length);
    return parsed.response;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((r) => (this.waiter = r));
  }
}

/** A whole response at the start of `text`, and its length on the wire; undefined if incomplete. */
function parseResponse(text: string): { response: RawResponse; length: number } | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
  let at = end + 4;
  if (headers['transfer-encoding'] === 'chunked') {
    let body = '';
    for (;;) {
      const lineEnd = text.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(text.slice(at, lineEnd), 16);
      if (size === 0) {
        const trailerEnd = text.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) return undefined;
        return { response: { status, headers, body }, length: trailerEnd + 4 };
      }
      if (text.length < lineEnd + 2 + size + 2) return undefined;
      body += text.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (text.length < at + length) return undefined;
  return { response: { status, headers, body: text.slice(at, at + length) }, length: at + length };
}

/** Sends `bytes` on a fresh connection; returns what came back before the proxy closed it. */
async function exchange(port: number, bytes: string): Promise<string> {
  const conn = await RawConnection.open(port);
  conn.write(bytes);
  return conn.untilClosed();
}

describe('weft-proxy HTTP/1.1 parsing: smuggling and malformed requests are refused before forwarding', () => {
  let upstream: WatchedUpstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startWatchedUpstream();
    proxy = await startTestProxy(
      outboundConfig(
        [route('default/svc', { clusters: [{ cluster: 'svc', weight: 100 }] })],
        [{ name: 'svc', endpoints: [{ address: '127.0.0.1', port: upstream.port }] }],
      ),
    );
  });

  after(async () => {
    await proxy.stop();
    await upstream.close();
  });

  const smuggled = `GET /smuggled HTTP/1.1\r\n${HOST}\r\n`;
  const cases: { name: string; bytes: string; status: number }[] = [
    {
      name: 'Content-Length together with Transfer-Encoding (CL.TE)',
      bytes: `POST /a HTTP/1.1\r\n${HOST}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      status: 400,
    },
    {
      name: 'Transfer-Encoding together with Content-Length (TE.CL)',
      bytes: `POST /a HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      status: 400,
    },
    {
      name: 'two different Content-Length headers',
      bytes: `POST /a HTTP/1.1\r\n${HOST}Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc${smuggled}`,
      status: 400,
    },
    {
      // Node's parser refuses any repeated Content-Length, even an identical one (RFC 9112 allows
      // a recipient to either collapse or reject it; rejecting is the safe choice for a proxy).
      name: 'two identical Content-Length headers',
      bytes: `POST /a HTTP/1.1\r\n${HOST}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc${smuggled}`,
      status: 400,
    },
    {
      name: 'a Content-Length list ("3, 3")',
      bytes: `POST /a HTTP/1.1\r\n${HOST}Content-Length: 3, 3\r\n\r\nabc${smuggled}`,
      status: 400,
    },
    {
      name: 'a Transfer-Encoding whose last coding is not chunked',
      bytes: `POST /a HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
      status: 400,
    },
    {
      name: 'an invalid character in a header name',
      bytes: `GET /a HTTP/1.1\r\n${HOST}X-Bad(name): 1\r\n\r\n`,
      status: 400,
    },
    {
      name: 'a control character in a header name',
      bytes: `GET /a HTTP/1.1\r\n${HOST}X-Bad\x01: 1\r\n\r\n`,
      status: 400,
    },
    {
      name: 'a NUL in a header value',
      bytes: `GET /a HTTP/1.1\r\n${HOST}X-Nul: a\x00b\r\n\r\n`,
      status: 400,
    },
    {
      name: 'whitespace between a header name and the colon',
      bytes: `GET /a HTTP/1.1\r\n${HOST}X-Space : 1\r\n\r\n`,
      status: 400,
    },
    {
      name: 'an obs-fold (a header value continued on the next line)',
      bytes: `GET /a HTTP/1.1\r\n${HOST}X-Folded: a\r\n b\r\n\r\n`,
      status: 400,
    },
    {
      name: 'bare LF line endings',
      bytes: `GET /a HTTP/1.1\n${HOST.replace('\r\n', '\n')}\n`,
      status: 400,
    },
    {
      name: 'a header block over 16 KiB',
      bytes: `GET /a HTTP/1.1\r\n${HOST}X-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
      status: 431,
    },
    { name: 'a garbage request line', bytes: 'GARBAGE\x00\x01 nonsense\r\n\r\n', status: 400 },
    { name: 'an unknown HTTP version', bytes: `GET /a HTTP/9.9\r\n${HOST}\r\n`, status: 400 },
    { name: 'an HTTP/1.1 request without Host', bytes: 'GET /a HTTP/1.1\r\n\r\n', status: 400 },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status}, connection closed, nothing forwarded`, async () => {
      const connectionsBefore = upstream.connections;
      const requestsBefore = upstream.requests.length;
      const received = await exchange(proxy.outbound, c.bytes);
      assert.match(received, new RegExp(`^HTTP/1\\.1 ${c.status} `), `got ${JSON.stringify(received)}`);
      assert.equal(upstream.requests.length, requestsBefore, 'the upstream must see no request');
      assert.equal(upstream.connections, connectionsBefore, 'the proxy must not even connect upstream');
    });
  }

  it('a bad chunk size: 400, connection closed, and the upstream never gets a whole request', async () => {
    const requestsBefore = upstream.requests.length;
    const received = await exchange(
      proxy.outbound,
      `POST /chunks HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${smuggled}`,
    );
    assert.match(received, /^HTTP\/1\.1 400 /, `got ${JSON.stringify(received)}`);
    // The request was already being streamed when the body turned out bad: at most its head may
    // have reached the upstream, never a completed body, and never the smuggled request.
    const seen = upstream.requests.slice(requestsBefore);
    assert.ok(
      seen.every((r) => r.url === '/chunks' && r.body === undefined),
      JSON.stringify(seen),
    );
  });

  it("a request body cut short by the client's FIN is never completed upstream: its request is aborted", async () => {
    const conn = await RawConnection.open(proxy.outbound);
    conn.write(`POST /cut-short HTTP/1.1\r\n${HOST}Content-Length: 100\r\n\r\n${'x'.repeat(10)}`);
    // The FIN comes once the upstream has the head and the 10 bytes: it must cut that request short.
    await waitUntil('the upstream to receive the head and the first 10 bytes of the body', () => {
      const seen = upstream.requests.find((r) => r.url === '/cut-short');
      return { done: seen?.bodyBytes === 10, state: seen };
    });
    conn.end();
    const received = await conn.untilClosed();
    assert.match(received, /^HTTP\/1\.1 400 /, `got ${JSON.stringify(received)}`);
    await waitUntil('the upstream request to be aborted', () => {
      const seen = upstream.requests.find((r) => r.url === '/cut-short');
      return { done: seen?.aborted === true, state: seen };
    });
    const seen = upstream.requests.filter((r) => r.url === '/cut-short');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.body, undefined, 'the body never ended at the upstream');
    assert.equal(seen[0]!.bodyBytes, 10);
    const next = await send(proxy.outbound, '/after-cut-short');
    assert.equal(next.status, 200, 'the proxy still serves');
  });

  it('refuses a transfer coding it cannot forward (gzip, chunked) with 501 rather than dropping it', async () => {
    const requestsBefore = upstream.requests.length;
    const conn = await RawConnection.open(proxy.outbound);
    try {
      conn.write(`POST /gz HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
      const res = await conn.readResponse();
      assert.equal(res.status, 501);
      assert.equal(upstream.requests.length, requestsBefore);
    } finally {
      conn.destroy();
    }
  });

  it('never smuggled a request to the upstream, and still serves a normal request afterwards', async () => {
    assert.deepEqual(
      upstream.requests.filter((r) => r.url === '/smuggled'),
      [],
    );
    const res = await send(proxy.outbound, '/after-the-barrage');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'watched GET /after-the-barrage');
  });
});

describe('weft-proxy HTTP/1.1 connections, trace headers and route actions', () => {
  let upstream: Upstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startUpstream('svc');
    const toSvc = [{ cluster: 'svc', weight: 100 }];
    proxy = await startTestProxy(
      outboundConfig(
        [
          route('default/svc/headers', {
            matches: [{ uri: { prefix: '/headers' } }],
            clusters: toSvc,
            headers: {
              request: { set: { 'x-env': 'test' }, add: { 'x-added': 'by-weft' }, remove: ['x-secret'] },
              response: { add: { 'x-served-by': 'weft' }, set: { 'x-upstream': 'hidden' } },
            },
          }),
          route('default/svc/rewrite', {
            matches: [{ uri: { prefix: '/v1' } }],
            rewrite: { uri: '/v2' },
            clusters: toSvc,
          }),
          route('default/svc/redirect', {
            matches: [{ uri: { prefix: '/old' } }],
            redirect: { uri: '/new', code: 302 },
          }),
          route('default/svc/redirect-https', {
            matches: [{ uri: { exact: '/secure' } }],
            redirect: { scheme: 'https', authority: 'secure.example.com' },
          }),
          route('default/svc/direct', {
            matches: [{ uri: { exact: '/healthz' } }],
            directResponse: { status: 418, body: "I'm a teapot" },
          }),
          route('default/svc/cors', {
            matches: [{ uri: { prefix: '/api' } }],
            clusters: toSvc,
            cors: {
              allowOrigins: [{ exact: 'https://app.example.com' }],
              allowMethods: ['GET', 'POST'],
              allowHeaders: ['x-token'],
              exposeHeaders: ['x-trace'],
              maxAgeSeconds: 600,
              allowCredentials: true,
            },
          }),
          route('default/svc', { clusters: toSvc }),
        ],
        [{ name: 'svc', endpoints: [{ address: '127.0.0.1', port: upstream.port }] }],
      ),
    );
  });

  after(async () => {
    await proxy.stop();
    await upstream.close();
  });

  describe('keep-alive and chunked framing', () => {
    it('serves several requests on one client connection', async () => {
      const before = upstream.received.length;
      const conn = await RawConnection.open(proxy.outbound);
      try {
        for (let i = 0; i < 5; i++) {
          conn.write(`GET /keep/${i} HTTP/1.1\r\n${HOST}\r\n`);
          const res = await conn.readResponse();
          assert.equal(res.status, 200);
          assert.equal(res.body, 'hello from svc\n');
          assert.notEqual(res.headers.connection?.toLowerCase(), 'close');
        }
        assert.equal(conn.closed, false, 'the connection stays open between requests');
      } finally {
        conn.destroy();
      }
      assert.deepEqual(
        upstream.received.slice(before).map((r) => r.url),
        ['/keep/0', '/keep/1', '/keep/2', '/keep/3', '/keep/4'],
      );
    });

    it('answers a request whose client half-closes right after it (FIN), then closes the connection', async () => {
      const before = upstream.received.length;
      const conn = await RawConnection.open(proxy.outbound);
      conn.write(`GET /then-fin HTTP/1.1\r\n${HOST}\r\n`);
      conn.end();
      const received = await conn.untilClosed();
      const parsed = parseResponse(received);
      assert.ok(parsed, `a whole response before the close, got ${JSON.stringify(received)}`);
      assert.equal(parsed.response.status, 200);
      assert.equal(parsed.response.body, 'hello from svc\n');
      assert.equal(parsed.length, received.length, 'nothing after the response');
      assert.deepEqual(
        upstream.received.slice(before).map((r) => r.url),
        ['/then-fin'],
      );
    });

    it('answers every pipelined request sent before a FIN, in order, then closes the connection', async () => {
      const conn = await RawConnection.open(proxy.outbound);
      conn.write(`GET /pipelined/1 HTTP/1.1\r\n${HOST}\r\nGET /pipelined/2 HTTP/1.1\r\n${HOST}\r\n`);
      conn.end();
      const statuses = [(await conn.readResponse()).status, (await conn.readResponse()).status];
      assert.deepEqual(statuses, [200, 200]);
      assert.equal(await conn.untilClosed(), '', 'closed after the last response, nothing more');
      assert.deepEqual(
        upstream.received.slice(-2).map((r) => r.url),
        ['/pipelined/1', '/pipelined/2'],
      );
    });

    it('forwards a chunked request body intact, then serves the next request on the same connection', async () => {
      const conn = await RawConnection.open(proxy.outbound);
      try {
        const chunks = ['first,', 'x'.repeat(70_000), ',', 'ünïcödé', ',last'];
        const body = chunks.map((c) => Buffer.from(c, 'utf8'));
        conn.write(`POST /upload HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n`);
        for (const b of body) conn.write(`${b.length.toString(16)}\r\n${b.toString('latin1')}\r\n`);
        conn.write('0\r\n\r\n');
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        const seen = upstream.received.at(-1)!;
        assert.equal(seen.url, '/upload');
        assert.equal(seen.body, chunks.join(''));

        conn.write(`GET /after-upload HTTP/1.1\r\n${HOST}\r\n`);
        assert.equal((await conn.readResponse()).status, 200);
        assert.equal(upstream.received.at(-1)!.url, '/after-upload');
      } finally {
        conn.destroy();
      }
    });

    it('forwards a Content-Length body intact, even when it arrives after the headers', async () => {
      const conn = await RawConnection.open(proxy.outbound);
      try {
        const body = 'y'.repeat(100_000);
        conn.write(`PUT /late-body HTTP/1.1\r\n${HOST}Content-Length: ${body.length}\r\n\r\n`);
        conn.write(body.slice(0, 10));
        conn.write(body.slice(10));
        assert.equal((await conn.readResponse()).status, 200);
        const seen = upstream.received.at(-1)!;
        assert.equal(seen.url, '/late-body');
        assert.equal(seen.body, body);
      } finally {
        conn.destroy();
      }
    });

    it('relays a chunked (streamed, no Content-Length) response intact', async () => {
      const parts = ['alpha\n', 'beta\n'.repeat(10_000), 'gamma\n'];
      upstream.behave = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (const p of parts) res.write(p);
        res.end();
      };
      const conn = await RawConnection.open(proxy.outbound);
      try {
        conn.write(`GET /stream HTTP/1.1\r\n${HOST}\r\n`);
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        assert.equal(res.body, parts.join(''));
      } finally {
        conn.destroy();
        upstream.behave = (_req, res) => {
          res.setHeader('x-upstream', 'svc');
          res.end('hello from svc\n');
        };
      }
    });
  });

  describe('trace headers', () => {
    it('adds an x-request-id when the request has none, and keeps one it has', async () => {
      await send(proxy.outbound, '/trace/none');
      const generated = upstream.received.at(-1)!.headers['x-request-id'];
      assert.match(String(generated), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

      await send(proxy.outbound, '/trace/mine', { headers: { 'x-request-id': 'my-request-42' } });
      assert.equal(upstream.received.at(-1)!.headers['x-request-id'], 'my-request-42');
    });

    it('continues a W3C traceparent: same trace id, a new parent id, and B3 headers that agree', async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parentId = '00f067aa0ba902b7';
      await send(proxy.outbound, '/trace/w3c', { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
      const h = upstream.received.at(-1)!.headers;
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(h.traceparent));
      assert.ok(m, `traceparent ${String(h.traceparent)}`);
      assert.equal(m[1], traceId);
      assert.notEqual(m[2], parentId, 'this hop has its own span');
      assert.equal(h['x-b3-traceid'], traceId);
      assert.equal(h['x-b3-spanid'], m[2]);
      assert.equal(h['x-b3-parentspanid'], parentId);
      assert.equal(h['x-b3-sampled'], '1');
    });

    it('starts a trace with B3 headers when the request carries none', async () => {
      await send(proxy.outbound, '/trace/new');
      const h = upstream.received.at(-1)!.headers;
      assert.match(String(h['x-b3-traceid']), /^[0-9a-f]{32}$/);
      assert.match(String(h['x-b3-spanid']), /^[0-9a-f]{16}$/);
      assert.equal(h['x-b3-parentspanid'], undefined);
      assert.equal(h['x-b3-sampled'], '1');
      assert.equal(h.traceparent, `00-${String(h['x-b3-traceid'])}-${String(h['x-b3-spanid'])}-01`);
    });

    it('continues a B3 trace', async () => {
      const traceId = '463ac35c9f6413ad48485a3953bb6124';
      await send(proxy.outbound, '/trace/b3', {
        headers: { 'x-b3-traceid': traceId, 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' },
      });
      const h = upstream.received.at(-1)!.headers;
      assert.equal(h['x-b3-traceid'], traceId);
      assert.equal(h['x-b3-parentspanid'], 'a2fb4a1d1a96d312');
      assert.notEqual(h['x-b3-spanid'], 'a2fb4a1d1a96d312');
    });
  });

  describe('route actions', () => {
    it('sets, adds and removes request headers, and edits response headers', async () => {
      const res = await send(proxy.outbound, '/headers', {
        headers: { 'x-env': 'prod', 'x-added': 'by-client', 'x-secret': 's3cr3t' },
      });
      assert.equal(res.status, 200);
      const h = upstream.received.at(-1)!.headers;
      assert.equal(h['x-env'], 'test');
      assert.equal(h['x-added'], 'by-client, by-weft');
      assert.equal(h['x-secret'], undefined);
      assert.equal(res.headers['x-served-by'], 'weft');
      assert.equal(res.headers['x-upstream'], 'hidden');
    });

    it('rewrites a matched prefix, keeping the rest of the path and the query', async () => {
      const res = await send(proxy.outbound, '/v1/items/7?full=1');
      assert.equal(res.status, 200);
      assert.equal(upstream.received.at(-1)!.url, '/v2/items/7?full=1');
    });

    it('redirects without forwarding: a path redirect and a scheme+authority redirect', async () => {
      const before = upstream.received.length;
      const res = await send(proxy.outbound, '/old/page?x=1');
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/new/page?x=1');

      const secure = await send(proxy.outbound, '/secure');
      assert.equal(secure.status, 301);
      assert.equal(secure.headers.location, 'https://secure.example.com/secure');
      assert.equal(upstream.received.length, before);
    });

    it('answers a direct response without forwarding', async () => {
      const before = upstream.received.length;
      const res = await send(proxy.outbound, '/healthz');
      assert.equal(res.status, 418);
      assert.equal(res.body, "I'm a teapot");
      assert.equal(upstream.received.length, before);
    });

    it('answers a CORS preflight from an allowed origin itself', async () => {
      const before = upstream.received.length;
      const res = await send(proxy.outbound, '/api/orders', {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-token',
        },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.equal(res.headers['access-control-allow-methods'], 'GET,POST');
      assert.equal(res.headers['access-control-allow-headers'], 'x-token');
      assert.equal(res.headers['access-control-max-age'], '600');
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      assert.equal(upstream.received.length, before, 'a preflight is not forwarded');
    });

    it('forwards a preflight from an origin it does not allow, without CORS headers', async () => {
      const before = upstream.received.length;
      const res = await send(proxy.outbound, '/api/orders', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      });
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.equal(upstream.received.length, before + 1);
      assert.equal(upstream.received.at(-1)!.method, 'OPTIONS');
    });

    it('adds CORS response headers to an actual request from an allowed origin', async () => {
      const res = await send(proxy.outbound, '/api/orders', {
        headers: { origin: 'https://app.example.com' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.equal(res.headers['access-control-expose-headers'], 'x-trace');
    });
  });

  describe('HTTP/2 cleartext (prior knowledge) from the client', () => {
    let session: ClientHttp2Session;

    before(() => {
      session = http2Connect(`http://127.0.0.1:${proxy.outbound}`);
      session.on('error', () => undefined);
    });

    after(async () => {
      await new Promise<void>((r) => session.close(() => r()));
    });

    function h2Request(
      headers: Record<string, string>,
      body?: string,
    ): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
      return new Promise((resolve, reject) => {
        const stream = session.request(headers, { endStream: body === undefined });
        let text = '';
        let responseHeaders: Record<string, unknown> = {};
        stream.setEncoding('utf8');
        stream.on('response', (h) => (responseHeaders = h));
        stream.on('data', (c: string) => (text += c));
        stream.on('end', () =>
          resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: text }),
        );
        stream.on('error', reject);
        if (body !== undefined) stream.end(body);
      });
    }

    it('routes an h2c request by :authority to the HTTP/1.1 upstream', async () => {
      const res = await h2Request({
        ':method': 'GET',
        ':path': '/h2/get',
        ':authority': `svc:${SERVICE_PORT}`,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello from svc\n');
      const seen = upstream.received.at(-1)!;
      assert.equal(seen.url, '/h2/get');
      assert.equal(seen.headers.host, `svc:${SERVICE_PORT}`);
    });

    it('carries a request body and several concurrent streams on one session', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          h2Request(
            { ':method': 'POST', ':path': `/h2/post/${i}`, ':authority': `svc:${SERVICE_PORT}` },
            `body-${i}`,
          ),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
      for (let i = 0; i < 5; i++) {
        const seen = upstream.received.find((r) => r.url === `/h2/post/${i}`);
        assert.equal(seen?.body, `body-${i}`);
      }
    });
  });
});
