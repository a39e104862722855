import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import fc from 'fast-check';

/**
 * Generated bad peers for the proxy fuzz e2e (test/e2e/proxy-fuzz*.test.ts): byte strings of
 * several kinds (random, mutated HTTP/1.1 and HTTP/2, structured HTTP/2 frames, odd but well-framed
 * requests, mutated TLS ClientHellos), all from fast-check's `fc.sample` with a fixed seed, so a
 * failure reproduces; and the ways they reach a proxy: on a fresh TCP connection, or inside a TLS
 * connection once the handshake is done. Each connection is half-closed after its bytes and waited
 * on until the proxy closes it, never judged by a sleep; one the proxy still holds at a cap counts
 * against it.
 */

export const SEED = 20261126;
/** Connections fed at once. */
const CONCURRENCY = 16;
/**
 * How long a fuzz connection may stay open after our FIN before the test drops it, and counts it
 * as held for good. Well past the 2 to 4 s an HTTP/2 session the proxy has given up on waits for
 * its idle PING probe (proxy/listeners/http-servers.ts), under load.
 */
export const CONNECTION_CAP_MS = 10_000;

/** One generated input, and what it was. */
export interface FuzzCase {
  readonly kind: string;
  readonly bytes: Buffer;
}

/** The first inputs of each kind from its arbitrary: the kind's index in `kinds` offsets the seed. */
export function sampleKinds(kinds: readonly [string, fc.Arbitrary<Buffer>][], count: number): FuzzCase[] {
  return kinds.flatMap(([kind, arb], i) =>
    fc.sample(arb, { seed: SEED + i, numRuns: count }).map((bytes) => ({ kind, bytes })),
  );
}

export const randomBytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** One edit of a byte string: flip a byte, insert or delete a run, cut it short, or repeat a slice. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Buffer, edits: readonly Mutation[]): Buffer {
  let b = input;
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % b.length;
    if (e.op === 'flip') b = Buffer.concat([b.subarray(0, at), Buffer.of(e.byte), b.subarray(at + 1)]);
    else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
    else if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]);
    else if (e.op === 'truncate') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at + e.length), b.subarray(at)]);
  }
  return b;
}

/** One of `templates`, edited one to six times. */
export const mutated = (templates: readonly Buffer[]): fc.Arbitrary<Buffer> =>
  fc
    .tuple(fc.constantFrom(...templates), fc.array(mutation, { minLength: 1, maxLength: 6 }))
    .map(([t, edits]) => mutate(t, edits));

/** HTTP/1.1 requests to mutate, for `authority` (host:port). */
export function http1Templates(authority: string): Buffer[] {
  return [
    `GET /a?b=c HTTP/1.1\r\nHost: ${authority}\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n`,
    `POST /upload HTTP/1.1\r\nHost: ${authority}\r\nContent-Length: 11\r\n\r\nhello world`,
    `POST /chunks HTTP/1.1\r\nHost: ${authority}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    `GET /ws HTTP/1.1\r\nHost: ${authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${authority}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`,
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
    `GET http://${authority}/absolute HTTP/1.1\r\nHost: ${authority}\r\n\r\nGET /second HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
  ].map((t) => Buffer.from(t, 'latin1'));
}

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** HTTP/2 frame types (RFC 9113 §6). */
export const H2_TYPE = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
const {
  DATA,
  HEADERS,
  PRIORITY,
  RST_STREAM,
  SETTINGS,
  PUSH_PROMISE,
  PING,
  GOAWAY,
  WINDOW_UPDATE,
  CONTINUATION,
} = H2_TYPE;
/** HTTP/2 frame flags. */
export const H2_FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const { END_STREAM, ACK, END_HEADERS, PADDED } = H2_FLAG;
const PRIORITY_FLAG = H2_FLAG.PRIORITY;

/** A frame: the 9-byte header (length, type, flags, stream id with its reserved bit), then `payload`. */
export function h2Frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
  length = payload.length,
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length & 0xffffff, 0, 3);
  head[3] = type & 0xff;
  head[4] = flags & 0xff;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, payload]);
}

/** The frames in `b` (a server's answer), as far as they are whole: type, stream and payload. */
export function parseH2Frames(b: Buffer): { type: number; stream: number; payload: Buffer }[] {
  const frames: { type: number; stream: number; payload: Buffer }[] = [];
  for (let at = 0; at + 9 <= b.length;) {
    const end = at + 9 + b.readUIntBE(at, 3);
    if (end > b.length) break;
    frames.push({
      type: b[at + 3]!,
      stream: b.readUInt32BE(at + 5) & 0x7fffffff,
      payload: b.subarray(at + 9, end),
    });
    at = end;
  }
  return frames;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A request's HPACK block: :method, :scheme and :path from the static table, :authority as a literal. */
function requestHeaderBlock(authority: string, method: 'GET' | 'POST' = 'GET', scheme = 'http'): Buffer {
  const value = Buffer.from(authority, 'latin1');
  // 0x82 GET, 0x83 POST, 0x86 http, 0x87 https, 0x84 path "/"; 0x01: literal without indexing, name 1.
  return Buffer.concat([
    Buffer.of(method === 'GET' ? 0x82 : 0x83, scheme === 'https' ? 0x87 : 0x86, 0x84, 0x01, value.length),
    value,
  ]);
}

/** A well-formed HTTP/2 exchange to mutate: preface, SETTINGS, a GET, a POST with a body, a PING. */
export function h2Conversation(authority: string, scheme = 'http'): Buffer {
  return Buffer.concat([
    H2_PREFACE,
    h2Frame(SETTINGS, 0, 0),
    h2Frame(WINDOW_UPDATE, 0, 0, u32(1 << 20)),
    h2Frame(HEADERS, END_HEADERS | END_STREAM, 1, requestHeaderBlock(authority, 'GET', scheme)),
    h2Frame(HEADERS, END_HEADERS, 3, requestHeaderBlock(authority, 'POST', scheme)),
    h2Frame(DATA, END_STREAM, 3, Buffer.from('hello')),
    h2Frame(PING, 0, 0, Buffer.alloc(8, 7)),
  ]);
}

/** Mostly the ids a client would use (0, odd), sometimes any, sometimes with the reserved bit set. */
const streamId = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 1, 2, 3, 5, 7) },
  { weight: 1, arbitrary: fc.nat(0x7fffffff) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80000000, max: 0xffffffff }) },
);
const clientStream = fc.nat(49).map((n) => 2 * n + 1);
/** The length a header declares: the payload's mostly, a little off or anything 24 bits hold sometimes. */
const declaredLength = fc.oneof(
  { weight: 6, arbitrary: fc.constant((n: number) => n) },
  { weight: 1, arbitrary: fc.integer({ min: -9, max: 9 }).map((d) => (n: number) => Math.max(0, n + d)) },
  { weight: 1, arbitrary: fc.nat(0xffffff).map((l) => () => l) },
);
const ODD_SETTING_VALUES = [0, 1, 16_383, 16_384, 16_777_215, 16_777_216, 0x7fffffff, 0x80000000, 0xffffffff];

/** Any frame: a known or unknown type, any flags and stream, a payload of up to 64 bytes. */
const anyFrame = fc
  .record({
    type: fc.oneof({ weight: 4, arbitrary: fc.nat(9) }, { weight: 1, arbitrary: fc.nat(255) }),
    flags: fc.nat(255),
    stream: streamId,
    payload: randomBytes(64),
    length: declaredLength,
  })
  .map((f) => h2Frame(f.type, f.flags, f.stream, f.payload, f.length(f.payload.length)));

/** HEADERS whose block is random bytes, or a valid request's block edited, under flags of all sorts. */
const headersWithHpack = (authority: string): fc.Arbitrary<Buffer> =>
  fc
    .record({
      flags: fc.oneof(
        fc.constantFrom(
          END_HEADERS,
          END_HEADERS | END_STREAM,
          0,
          PADDED | END_HEADERS,
          PRIORITY_FLAG | END_HEADERS,
        ),
        fc.nat(255),
      ),
      stream: fc.oneof({ weight: 4, arbitrary: clientStream }, { weight: 1, arbitrary: streamId }),
      block: fc.oneof(randomBytes(128), mutated([requestHeaderBlock(authority)])),
      length: declaredLength,
    })
    .map((f) => h2Frame(HEADERS, f.flags, f.stream, f.block, f.length(f.block.length)));

/** HEADERS without END_HEADERS, then up to 300 CONTINUATIONs (CVE-2024-27316's flood), ended or not. */
const continuationFlood = (authority: string): fc.Arbitrary<Buffer> =>
  fc
    .record({
      stream: clientStream,
      first: fc.oneof(randomBytes(16), fc.constant(requestHeaderBlock(authority))),
      count: fc.integer({ min: 1, max: 300 }),
      piece: randomBytes(16),
      otherStream: fc.boolean(),
      last: fc.constantFrom(0, END_HEADERS),
    })
    .map((f) =>
      Buffer.concat([
        h2Frame(HEADERS, 0, f.stream, f.first),
        ...Array.from({ length: f.count }, (_, i) =>
          h2Frame(
            CONTINUATION,
            i === f.count - 1 ? f.last : 0,
            f.otherStream && i === f.count - 1 ? f.stream + 2 : f.stream,
            f.piece,
          ),
        ),
      ]),
    );

/** SETTINGS with odd values (window sizes past 2^31-1, frame sizes out of range, unknown ids), sometimes malformed. */
const oddSettings = fc
  .record({
    entries: fc.array(
      fc.tuple(
        fc.oneof(fc.integer({ min: 1, max: 9 }), fc.nat(0xffff)),
        fc.oneof(fc.constantFrom(...ODD_SETTING_VALUES), fc.nat({ max: 0xffffffff })),
      ),
      { maxLength: 8 },
    ),
    flags: fc.constantFrom(0, 0, 0, ACK),
    stream: fc.constantFrom(0, 0, 0, 1),
    trailing: randomBytes(5),
  })
  .map((f) => {
    const body = Buffer.concat(
      f.entries.map(([id, value]) => {
        const e = Buffer.alloc(6);
        e.writeUInt16BE(id);
        e.writeUInt32BE(value, 2);
        return e;
      }),
    );
    return h2Frame(SETTINGS, f.flags, f.stream, Buffer.concat([body, f.trailing]));
  });

/** WINDOW_UPDATEs of 0, 1, overflowing or reserved-bit increments, on the connection or a stream. */
const windowUpdates = fc
  .array(
    fc.record({
      stream: fc.oneof(fc.constant(0), clientStream),
      increment: fc.oneof(fc.constantFrom(0, 0, 1, 0x7fffffff, 0x80000000, 0xffffffff), fc.nat()),
      size: fc.constantFrom(4, 4, 4, 3, 5),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((updates) =>
    Buffer.concat(
      updates.map((u) =>
        h2Frame(
          WINDOW_UPDATE,
          0,
          u.stream,
          Buffer.concat([u32(u.increment), Buffer.alloc(1)]).subarray(0, u.size),
        ),
      ),
    ),
  );

/** Requests opened and reset at once, up to 32 of them (CVE-2023-44487's rapid reset), with RST_STREAMs on idle streams too. */
const resetStorm = (authority: string): fc.Arbitrary<Buffer> =>
  fc
    .record({
      count: fc.integer({ min: 1, max: 32 }),
      endStream: fc.boolean(),
      code: fc.oneof(fc.constantFrom(0, 8), fc.nat({ max: 0xffffffff })),
      idle: fc.array(streamId, { maxLength: 4 }),
    })
    .map((f) =>
      Buffer.concat([
        ...Array.from({ length: f.count }, (_, i) => [
          h2Frame(
            HEADERS,
            END_HEADERS | (f.endStream ? END_STREAM : 0),
            2 * i + 1,
            requestHeaderBlock(authority),
          ),
          h2Frame(RST_STREAM, 0, 2 * i + 1, u32(f.code)),
        ]).flat(),
        ...f.idle.map((s) => h2Frame(RST_STREAM, 0, s, u32(f.code))),
      ]),
    );

/** The rest of the frame types a client should not send, or not so: PRIORITY on itself, GOAWAY, PUSH_PROMISE, PINGs, DATA on idle streams. */
const oddFrames = fc.oneof(
  clientStream.map((s) => h2Frame(PRIORITY, 0, s, Buffer.concat([u32(s), Buffer.of(16)]))),
  fc
    .tuple(fc.nat(), fc.nat({ max: 0xffffffff }), randomBytes(32))
    .map(([last, code, debug]) => h2Frame(GOAWAY, 0, 0, Buffer.concat([u32(last), u32(code), debug]))),
  fc
    .tuple(clientStream, randomBytes(32))
    .map(([s, block]) => h2Frame(PUSH_PROMISE, END_HEADERS, s, Buffer.concat([u32(s + 1), block]))),
  fc
    .tuple(fc.integer({ min: 1, max: 64 }), fc.constantFrom(0, ACK), fc.constantFrom(8, 8, 0, 7, 9))
    .map(([n, flags, size]) =>
      Buffer.concat(Array.from({ length: n }, () => h2Frame(PING, flags, 0, Buffer.alloc(size)))),
    ),
  fc
    .tuple(streamId, fc.constantFrom(0, END_STREAM, PADDED), randomBytes(64))
    .map(([s, flags, data]) => h2Frame(DATA, flags, s, data)),
);

/**
 * An HTTP/2 connection of structured frames: the preface, maybe SETTINGS, then one to eight frames
 * or runs of frames with valid 9-byte headers (lengths consistent, and sometimes not) but generated
 * type, flags, stream and payload, HPACK blocks of random bytes, CONTINUATION floods, odd SETTINGS,
 * WINDOW_UPDATE 0 and overflows, and RST_STREAM storms. Requests that are well-formed carry `authority`.
 */
export function h2Frames(authority: string): fc.Arbitrary<Buffer> {
  const frame = fc.oneof(
    { weight: 3, arbitrary: anyFrame },
    { weight: 2, arbitrary: headersWithHpack(authority) },
    { weight: 1, arbitrary: continuationFlood(authority) },
    { weight: 2, arbitrary: oddSettings },
    { weight: 1, arbitrary: windowUpdates },
    { weight: 1, arbitrary: resetStorm(authority) },
    { weight: 1, arbitrary: oddFrames },
  );
  return fc
    .tuple(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 8 }))
    .map(([settings, frames]) =>
      Buffer.concat([H2_PREFACE, ...(settings ? [h2Frame(SETTINGS, 0, 0)] : []), ...frames]),
    );
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1), the prefix's other bits zero. */
function hpackInt(value: number, n: number): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.of(value);
  const bytes = [max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** Header fields as HPACK literals without indexing, with new names, no Huffman (RFC 7541 §6.2.2). */
function hpackLiterals(fields: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(
    fields.flatMap(([name, value]) => {
      const n = Buffer.from(name, 'latin1');
      const v = Buffer.from(value, 'latin1');
      return [Buffer.of(0x00), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v];
    }),
  );
}

/** Request headers the proxy reads, or must strip or refuse, with values odd for them. */
const ODD_HEADER_NAMES = [
  'content-length',
  'transfer-encoding',
  'te',
  'connection',
  'upgrade',
  'expect',
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-client-cert',
  'x-request-id',
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'grpc-timeout',
  'content-type',
  'origin',
  'access-control-request-method',
  'access-control-request-headers',
  'cookie',
  'Host',
  ':protocol',
  ':status',
];
const ODD_HEADER_VALUES = [
  '',
  ' ',
  '0',
  '-1',
  '18446744073709551616',
  'chunked',
  'trailers',
  'close',
  'keep-alive, Upgrade',
  'websocket',
  '100-continue',
  'application/grpc',
  'application/grpc-web+proto',
  '1S',
  '99999999H',
  '1n',
  '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  'ff-00000000000000000000000000000000-0000000000000000-ff',
  '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90',
  'd',
  'https://evil.example',
  '1.2.3.4, 5.6.7.8',
];
const oddHeaderValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ODD_HEADER_VALUES) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 16 }) },
  { weight: 1, arbitrary: fc.nat(20_000).map((n) => 'x'.repeat(n)) },
);

/** Mostly `usual`, sometimes one of `odd`: a request odd in one part still reaches the proxy's handler. */
const mostly = <T>(usual: readonly T[], odd: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...usual) }, { weight: 1, arbitrary: odd });

/** A request with odd but well-framed parts: method, target, authority and headers of all sorts. */
const oddRequest = (authority: string) =>
  fc.record({
    method: mostly(
      ['GET', 'POST'],
      fc.constantFrom('PUT', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI', 'get', 'X-Y'),
    ),
    path: mostly(
      ['/', '/a?b=c&b=d', '/%2e%2e/admin', '//x//y', '/a%2Fb', '/x?%zz=%'],
      fc.oneof(
        fc.constantFrom('*', '', 'http://svc/x', '/%00', '/%zz', '/\\x', `/${'a'.repeat(10_000)}`),
        fc.string({ unit: 'binary-ascii', maxLength: 32 }).map((p) => `/${p}`),
      ),
    ),
    authority: mostly(
      [authority],
      fc.constantFrom('', 'svc:99999', '[::1]:80', 'a@b', 'UNKNOWN.example.com', `${authority}.`),
    ),
    headers: fc.array(fc.tuple(fc.constantFrom(...ODD_HEADER_NAMES), oddHeaderValue), { maxLength: 4 }),
    body: randomBytes(64),
    trailers: fc.boolean(),
  });

/** Odd requests over HTTP/1.1, one to three on a connection, each with a Content-Length body. */
export function oddHttp1Requests(authority: string): fc.Arbitrary<Buffer> {
  return fc.array(oddRequest(authority), { minLength: 1, maxLength: 3 }).map((requests) =>
    Buffer.concat(
      requests.map((r) => {
        const head = [
          `${r.method} ${r.path} HTTP/1.1`,
          `host: ${r.authority}`,
          ...r.headers.filter(([name]) => !name.startsWith(':')).map(([name, value]) => `${name}: ${value}`),
          `content-length: ${r.body.length}`,
        ];
        return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), r.body]);
      }),
    ),
  );
}

/**
 * Odd requests over HTTP/2 (after the preface and SETTINGS), one to three on a connection: HEADERS
 * of literal fields (pseudo-headers included, in any state), DATA, and sometimes trailers.
 */
export function oddHttp2Requests(authority: string, scheme = 'http'): fc.Arbitrary<Buffer> {
  return fc.array(oddRequest(authority), { minLength: 1, maxLength: 3 }).map((requests) =>
    Buffer.concat([
      H2_PREFACE,
      h2Frame(SETTINGS, 0, 0),
      ...requests.flatMap((r, i) => {
        const stream = 2 * i + 1;
        const fields: [string, string][] = [
          [':method', r.method],
          [':scheme', scheme],
          [':path', r.path],
          [':authority', r.authority],
          ...r.headers.map(([name, value]): [string, string] => [name.toLowerCase(), value]),
        ];
        return [
          h2Frame(HEADERS, END_HEADERS, stream, hpackLiterals(fields)),
          h2Frame(DATA, r.trailers ? 0 : END_STREAM, stream, r.body),
          ...(r.trailers
            ? [h2Frame(HEADERS, END_HEADERS | END_STREAM, stream, hpackLiterals([['x-trailer', 'yes']]))]
            : []),
        ];
      }),
    ]),
  );
}

/** How a fed connection ended: what the proxy sent back, and whether the cap had to close it. */
export interface Fed {
  readonly received: Buffer;
  readonly capped: boolean;
  /** Whether the connection (the TLS handshake, for feedTls) was up before the bytes were sent. */
  readonly secured: boolean;
}

/**
 * What a peer that completed a TLS handshake sends inside it, by kind: the byte-level kinds and the
 * odd but well-framed requests, for `authority` over HTTPS.
 */
export function insideTlsKinds(authority: string): [string, fc.Arbitrary<Buffer>][] {
  return [
    ['random bytes', randomBytes(4096)],
    ['mutated HTTP/1.1', mutated(http1Templates(authority))],
    ['mutated HTTP/2 exchange', mutated([h2Conversation(authority, 'https')])],
    ['structured HTTP/2 frames', h2Frames(authority)],
    ['odd HTTP/1.1 requests', oddHttp1Requests(authority)],
    ['odd HTTP/2 requests', oddHttp2Requests(authority, 'https')],
  ];
}

/** Writes the bytes on a fresh connection, half-closes, and resolves when the proxy closes it (or at the cap). */
export function feed(port: number, bytes: Buffer): Promise<Fed> {
  return settle(netConnect({ host: '127.0.0.1', port }), 'connect', bytes);
}

/**
 * Completes a TLS handshake with `options` (a client certificate, a server name, ALPN), then writes
 * the bytes inside the TLS stream and half-closes. `secured`: whether the handshake completed.
 */
export function feedTls(port: number, options: ConnectionOptions, bytes: Buffer): Promise<Fed> {
  return settle(tlsConnect({ host: '127.0.0.1', port, ...options }), 'secureConnect', bytes);
}

function settle(socket: Socket, ready: 'connect' | 'secureConnect', bytes: Buffer): Promise<Fed> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let secured = false;
    let capped = false;
    const cap = setTimeout(() => {
      capped = true;
      socket.destroy();
    }, CONNECTION_CAP_MS);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => received.push(d));
    socket.once('close', () => {
      clearTimeout(cap);
      resolve({ received: Buffer.concat(received), capped, secured });
    });
    socket.once(ready, () => {
      secured = true;
      socket.end(bytes);
    });
  });
}

/** Runs `run` on every item, at most `window` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  run: (item: T) => Promise<void>,
  window = CONCURRENCY,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
}

/** A proxy process under fuzz: whether it still runs, and its output. */
export interface FuzzedProxy {
  exitCode(): number | null;
  logs(): string;
}

/** Why the proxy is not running any more: the inputs that were in flight and sent last, and its output. */
export function exitMessage(proxy: FuzzedProxy, log: SentLog): string {
  return `the proxy exited (${proxy.exitCode()}) after these inputs:\n${log.report()}\n${proxy.logs().slice(-3000)}`;
}

/**
 * Sends every target's input through `send`, at most `window` connections at a time, recording
 * each in `log`; then the proxy must still run, and must have closed every connection after the
 * client's FIN, before the cap. Resolves with how each connection ended, in the targets' order.
 */
export async function assertSurvives<T extends FuzzCase>(
  proxy: FuzzedProxy,
  log: SentLog,
  targets: readonly T[],
  where: (target: T) => string,
  send: (target: T) => Promise<Fed>,
  window = CONCURRENCY,
): Promise<Fed[]> {
  const results: Fed[] = [];
  await inParallel(
    [...targets.keys()],
    async (i) => {
      const target = targets[i]!;
      const done = log.record(target.kind, where(target), target.bytes);
      results[i] = await send(target);
      done();
    },
    window,
  );
  assert.equal(proxy.exitCode(), null, exitMessage(proxy, log));
  const open = targets.filter((_, i) => results[i]!.capped);
  assert.equal(
    open.length,
    0,
    `the proxy left ${open.length} connections open ${CONNECTION_CAP_MS} ms after the client's FIN, the first of them:\n` +
      open
        .slice(0, 8)
        .map(
          (t) => `${t.kind} ${where(t)} (${t.bytes.length} bytes) ${t.bytes.toString('hex').slice(0, 400)}`,
        )
        .join('\n'),
  );
  return results;
}

/** The first bytes a real TLS client sends: a ClientHello asking for `servername` with `alpn`, to mutate. */
export async function captureClientHello(servername: string, alpn: readonly string[] = []): Promise<Buffer> {
  let captured: Buffer | undefined;
  const server: Server = createServer((s) =>
    s.once('data', (d: Buffer) => {
      captured = d;
      s.destroy();
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((resolve) => {
    const client = tlsConnect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      servername,
      ...(alpn.length > 0 ? { ALPNProtocols: [...alpn] } : {}),
      rejectUnauthorized: false,
    });
    client.on('error', () => undefined);
    client.once('close', () => resolve());
  });
  await new Promise<void>((r) => server.close(() => r()));
  assert.ok(captured && captured[0] === 0x16, 'a TLS handshake record');
  return captured;
}

/**
 * What was sent, for a failure message: the inputs still in flight (when the proxy dies, the one
 * that killed it is among them) and the last ones sent, each as kind, where, length and hex.
 */
export class SentLog {
  private readonly lines: string[] = [];
  private readonly inFlight = new Set<number>();

  /** Records an input about to be sent; the function returned marks its connection closed. */
  record(kind: string, where: string, bytes: Buffer): () => void {
    const id = this.lines.length;
    this.lines.push(`${kind} ${where} (${bytes.length} bytes) ${bytes.toString('hex').slice(0, 400)}`);
    this.inFlight.add(id);
    return () => this.inFlight.delete(id);
  }

  note(line: string): void {
    this.lines.push(line);
  }

  report(last = CONCURRENCY * 2): string {
    const open = [...this.inFlight].map((id) => this.lines[id]!);
    return [
      ...(open.length > 0 ? [`in flight (${open.length}):`, ...open] : []),
      `last sent (kind, where, length, hex):`,
      ...this.lines.slice(-last),
    ].join('\n');
  }
}
