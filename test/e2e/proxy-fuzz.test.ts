import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { repoRoot } from '../cluster/paths.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import {
  inboundConfig,
  outboundConfig,
  route,
  send,
  SERVICE_PORT,
  startUpstream,
  TestMeshPki,
  type Upstream,
} from '../helpers/proxy.js';

/**
 * "A bad peer never crashes the proxy": a proxy process (proxy/main.ts, standalone) gets generated
 * bytes on every listener (the outbound HTTP listener, the PERMISSIVE inbound that sniffs TLS from
 * plaintext, admin, health and metrics): random bytes, mutated HTTP/1.1 requests, an HTTP/2 preface
 * with random frames, and mutated TLS ClientHellos. An upstream answers garbage to the requests
 * routed to it. Then the process must still run, be ready, and carry requests both ways.
 *
 * The inputs come from a fixed seed, so a failure reproduces; a failed assertion lists the last
 * inputs sent. Each connection is half-closed after its bytes and waited on until the proxy closes
 * it (or, for input the proxy may rightly wait on, until a cap), never judged by a sleep.
 */

const SEED = 20261126;
const CASES_PER_KIND = 150;
const CONCURRENCY = 16;
/** How long a fuzz connection may stay open after our FIN before the test drops it itself. */
const CONNECTION_CAP_MS = 5_000;

const HTTP_TEMPLATES: readonly string[] = [
  `GET /a?b=c HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n`,
  `POST /upload HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\nContent-Length: 11\r\n\r\nhello world`,
  `POST /chunks HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
  `GET /ws HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`,
  `CONNECT svc:${SERVICE_PORT} HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\n\r\n`,
  `GET http://svc:${SERVICE_PORT}/absolute HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\n\r\nGET /second HTTP/1.1\r\nHost: svc:${SERVICE_PORT}\r\n\r\n`,
];
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const RESPONSE_TEMPLATES: readonly string[] = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n',
];

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

const mutated = (templates: readonly Buffer[]): fc.Arbitrary<Buffer> =>
  fc
    .tuple(fc.constantFrom(...templates), fc.array(mutation, { minLength: 1, maxLength: 6 }))
    .map(([t, edits]) => mutate(t, edits));

/** Fuzz inputs for a byte-stream listener, by kind, from the seed. */
function inputs(clientHello: Buffer): { kind: string; bytes: Buffer }[] {
  const kinds: [string, fc.Arbitrary<Buffer>][] = [
    ['random bytes', fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a))],
    ['mutated HTTP/1.1', mutated(HTTP_TEMPLATES.map((t) => Buffer.from(t, 'latin1')))],
    [
      'HTTP/2 preface and random frames',
      fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.concat([H2_PREFACE, a])),
    ],
    ['mutated TLS ClientHello', mutated([clientHello])],
  ];
  return kinds.flatMap(([kind, arb], i) =>
    fc.sample(arb, { seed: SEED + i, numRuns: CASES_PER_KIND }).map((bytes) => ({ kind, bytes })),
  );
}

/** Writes the bytes, half-closes, and resolves when the proxy closes the connection (or at the cap). */
function feed(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = netConnect({ host: '127.0.0.1', port });
    const cap = setTimeout(() => socket.destroy(), CONNECTION_CAP_MS);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('close', () => {
      clearTimeout(cap);
      resolve();
    });
    socket.once('connect', () => socket.end(bytes));
  });
}

async function inBatches<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY)
    await Promise.all(items.slice(i, i + CONCURRENCY).map(run));
}

/** The first bytes a real TLS client sends: a ClientHello with SNI and ALPN, to mutate. */
async function captureClientHello(): Promise<Buffer> {
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
      servername: `outbound_.${SERVICE_PORT}_._.svc.default.svc.cluster.local`,
      ALPNProtocols: ['h2', 'http/1.1'],
      rejectUnauthorized: false,
    });
    client.on('error', () => undefined);
    client.once('close', () => resolve());
  });
  await new Promise<void>((r) => server.close(() => r()));
  assert.ok(captured && captured[0] === 0x16, 'a TLS handshake record');
  return captured;
}

/** A server that answers every connection with the next of `answers` (cycling), then closes. */
async function startGarbageUpstream(
  answers: readonly Buffer[],
): Promise<{ port: number; readonly connections: number; close(): Promise<void> }> {
  let next = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sockets.delete(s));
    s.once('data', () => s.end(answers[next++ % answers.length]!));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** One sidecar: outbound to `svc` (the app) and to `bad` (the garbage upstream), inbound PERMISSIVE to the app. */
function sidecarConfig(appPort: number, badPort: number): ProxyConfig {
  const svc = `outbound|${SERVICE_PORT}||svc.default.svc.cluster.local`;
  const bad = `outbound|${SERVICE_PORT}||bad.default.svc.cluster.local`;
  const outbound = outboundConfig(
    [route('default/svc', { clusters: [{ cluster: svc, weight: 100 }] })],
    [
      { name: svc, endpoints: [{ address: '127.0.0.1', port: appPort }] },
      {
        name: bad,
        service: { host: 'bad.default.svc.cluster.local', port: SERVICE_PORT },
        endpoints: [{ address: '127.0.0.1', port: badPort }],
      },
    ],
  );
  const inbound = inboundConfig(appPort, 'PERMISSIVE');
  const [outboundRoutes] = outbound.routes;
  return {
    ...outbound,
    listeners: [...outbound.listeners, ...inbound.listeners],
    routes: [
      {
        ...outboundRoutes!,
        virtualHosts: [
          ...outboundRoutes!.virtualHosts,
          {
            name: 'bad',
            domains: ['bad', `bad:${SERVICE_PORT}`],
            routes: [route('default/bad', { clusters: [{ cluster: bad, weight: 100 }] })],
          },
        ],
      },
      ...inbound.routes,
    ],
    clusters: [...outbound.clusters, ...inbound.clusters],
    endpoints: [...outbound.endpoints, ...inbound.endpoints],
    security: inbound.security,
  };
}

describe('a bad peer never crashes the proxy (generated bytes on every listener, garbage from an upstream)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fuzz-'));
  let app: Upstream;
  let garbage: Awaited<ReturnType<typeof startGarbageUpstream>>;
  let proxy: ProxyProcess;
  let cases: { kind: string; bytes: Buffer }[];
  const sent: string[] = [];

  before(async () => {
    const upstreamAnswers = fc
      .sample(
        fc.oneof(
          mutated(RESPONSE_TEMPLATES.map((t) => Buffer.from(t, 'latin1'))),
          fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
        ),
        { seed: SEED, numRuns: CASES_PER_KIND },
      )
      .concat(RESPONSE_TEMPLATES.map((t) => Buffer.from(t, 'latin1')));
    app = await startUpstream('svc');
    garbage = await startGarbageUpstream(upstreamAnswers);
    const identity = new TestMeshPki().workload('default', 'svc');
    proxy = await startProxyProcess(
      ['--import', 'tsx', join(repoRoot, 'proxy', 'main.ts')],
      dir,
      sidecarConfig(app.port, garbage.port),
      [`--cert-chain=${identity.certChain}`, `--key=${identity.key}`, `--root-cert=${identity.root}`],
    );
    cases = inputs(await captureClientHello());
  });

  after(async () => {
    await proxy?.stop();
    await app?.close();
    await garbage?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const alive = (): string =>
    `the proxy exited (${proxy.exitCode()}) after these inputs (kind, port, hex):\n${sent.slice(-CONCURRENCY * 2).join('\n')}\n${proxy.logs().slice(-3000)}`;

  it('survives every generated input on the outbound, inbound, admin, health and metrics ports', async () => {
    const { outbound, inbound, admin, health, metrics } = proxy.ports;
    const targets = cases.flatMap((c) =>
      [outbound, inbound, admin, health, metrics].map((port) => ({ ...c, port })),
    );
    let fed = 0;
    await inBatches(targets, async ({ kind, bytes, port }) => {
      sent.push(`${kind} :${port} ${bytes.toString('hex').slice(0, 400)}`);
      await feed(port, bytes);
      fed++;
    });
    assert.equal(fed, CASES_PER_KIND * 4 * 5, 'every input went to every port');
    assert.equal(proxy.exitCode(), null, alive());
  });

  it('closes an HTTP/2 connection after the GOAWAY it sent for an HPACK block it cannot decode (found by this test)', async () => {
    // After the preface: an empty SETTINGS, then HEADERS (END_STREAM | END_HEADERS, stream 41) whose
    // block is 0x71, a literal with a static-table name and no value after it: COMPRESSION_ERROR.
    const badHpack = Buffer.concat([
      H2_PREFACE,
      Buffer.from('000000040000000000' + '00000101050000002971', 'hex'),
    ]);
    sent.push(`bad HPACK block :${proxy.ports.outbound} ${badHpack.toString('hex')}`);
    const { received, open } = await new Promise<{ received: Buffer; open: boolean }>((resolve) => {
      const chunks: Buffer[] = [];
      let open = false;
      const socket = netConnect({ host: '127.0.0.1', port: proxy.ports.outbound });
      const cap = setTimeout(() => {
        open = true;
        socket.destroy();
      }, CONNECTION_CAP_MS);
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('error', () => undefined);
      socket.once('close', () => {
        clearTimeout(cap);
        resolve({ received: Buffer.concat(chunks), open });
      });
      socket.once('connect', () => socket.end(badHpack));
    });
    // The server's SETTINGS (9 bytes, empty), then its GOAWAY: last stream 41, error code 9.
    assert.equal(received.subarray(9).toString('hex'), '000008070000000000' + '00000029' + '00000009');
    assert.equal(open, false, `the connection was still open ${CONNECTION_CAP_MS} ms after the client's FIN`);
    assert.equal(proxy.exitCode(), null, alive());
  });

  it('answers 400 on the admin port to a request target the URL parser refuses (found by this test)', async () => {
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      const socket = netConnect({ host: '127.0.0.1', port: proxy.ports.admin });
      socket.setEncoding('latin1').on('data', (d: string) => (text += d));
      socket.on('error', () => undefined);
      socket.once('close', () => resolve(text));
      socket.once('connect', () =>
        socket.end(`GET http://svc:908solute HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n`),
      );
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /admin: invalid request target/);
    assert.equal(proxy.exitCode(), null, alive());
  });

  it('survives garbage answers from an upstream, answering its clients or closing on them', async () => {
    let answered = 0;
    await inBatches([...Array(CASES_PER_KIND + RESPONSE_TEMPLATES.length).keys()], async (i) => {
      sent.push(`request ${i} to the garbage upstream`);
      try {
        await send(proxy.ports.outbound, `/bad/${i}`, { host: `bad:${SERVICE_PORT}` });
        answered++;
      } catch {
        // The garbage had a valid head and then broke: the proxy resets the client, as it must.
      }
    });
    assert.equal(proxy.exitCode(), null, alive());
    assert.ok(garbage.connections > 0, 'the requests reached the garbage upstream');
    assert.ok(answered > 0, 'the proxy answered at least some of the requests to the garbage upstream');
  });

  it('still serves: ready, and a request through each direction reaches the application', async () => {
    assert.equal(proxy.exitCode(), null, alive());
    const ready = await fetch(`http://127.0.0.1:${proxy.ports.health}/healthz/ready`);
    assert.equal(ready.status, 200);
    const out = await send(proxy.ports.outbound, '/after-fuzz');
    assert.equal(out.status, 200);
    assert.equal(out.body, 'hello from svc\n');
    const inbound = await send(proxy.ports.inbound, '/after-fuzz-inbound');
    assert.equal(inbound.status, 200);
    assert.equal(app.received.at(-1)?.url, '/after-fuzz-inbound');
    assert.doesNotMatch(proxy.logs(), /uncaught|unhandled/i, 'no uncaught exception or unhandled rejection');
  });
});
