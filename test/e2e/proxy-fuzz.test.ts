import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { repoRoot } from '../cluster/paths.js';
import {
  captureClientHello,
  CONNECTION_CAP_MS,
  feed,
  h2Conversation,
  h2Frame,
  h2Frames,
  H2_FLAG,
  H2_TYPE,
  H2_PREFACE,
  http1Templates,
  assertSurvives,
  exitMessage,
  inParallel,
  mutated,
  oddHttp1Requests,
  oddHttp2Requests,
  parseH2Frames,
  randomBytes,
  sampleKinds,
  SEED,
  SentLog,
  type Fed,
  type FuzzCase,
} from '../helpers/fuzz.js';
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
 * with random frames, and mutated TLS ClientHellos; then, on the outbound h2c path and the inbound,
 * structured HTTP/2 frames, mutated HTTP/2 exchanges, and odd but well-framed requests over HTTP/1.1
 * and HTTP/2. An upstream answers garbage to the requests routed to it. After each group the process
 * must still run, be ready, and carry requests both ways.
 * The mesh mTLS peer and the gateway have files of their own (proxy-fuzz-*.test.ts).
 *
 * The inputs come from a fixed seed (test/helpers/fuzz.ts), so a failure reproduces; a failed
 * assertion lists the inputs in flight and sent last, in hex. Each connection is half-closed after
 * its bytes and waited on until the proxy closes it, never judged by a sleep; one still open at the
 * cap fails the test, as a connection the proxy would hold for good.
 */

const CASES_PER_KIND = 150;
const RESPONSE_TEMPLATES: readonly string[] = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n',
];
const AUTHORITY = `svc:${SERVICE_PORT}`;
const H2_CASES_PER_KIND = 100;
/**
 * Connections at once for HTTP/2 inputs: a session the proxy sent a GOAWAY for a connection error
 * on is only closed by its idle PING probe (proxy/listeners/http-servers.ts), 2 to 4 s later.
 */
const H2_WINDOW = 256;

/** Fuzz inputs for a byte-stream listener, by kind, from the seed. */
function inputs(clientHello: Buffer): FuzzCase[] {
  return sampleKinds(
    [
      ['random bytes', randomBytes(4096)],
      ['mutated HTTP/1.1', mutated(http1Templates(AUTHORITY))],
      ['HTTP/2 preface and random frames', randomBytes(512).map((a) => Buffer.concat([H2_PREFACE, a]))],
      ['mutated TLS ClientHello', mutated([clientHello])],
    ],
    CASES_PER_KIND,
  );
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
  let cases: FuzzCase[];
  const sent = new SentLog();

  before(async () => {
    const upstreamAnswers = fc
      .sample(fc.oneof(mutated(RESPONSE_TEMPLATES.map((t) => Buffer.from(t, 'latin1'))), randomBytes(2048)), {
        seed: SEED,
        numRuns: CASES_PER_KIND,
      })
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
    cases = inputs(
      await captureClientHello(`outbound_.${SERVICE_PORT}_._.svc.default.svc.cluster.local`, [
        'h2',
        'http/1.1',
      ]),
    );
  });

  after(async () => {
    await proxy?.stop();
    await app?.close();
    await garbage?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const alive = (): string => exitMessage(proxy, sent);

  /** After each group: running, ready, and a request through each direction reaches the application. */
  async function stillServes(): Promise<void> {
    assert.equal(proxy.exitCode(), null, alive());
    const ready = await fetch(`http://127.0.0.1:${proxy.ports.health}/healthz/ready`);
    assert.equal(ready.status, 200, alive());
    const out = await send(proxy.ports.outbound, '/after-fuzz');
    assert.equal(out.status, 200);
    assert.equal(out.body, 'hello from svc\n');
    const inbound = await send(proxy.ports.inbound, '/after-fuzz-inbound');
    assert.equal(inbound.status, 200);
    assert.equal(app.received.at(-1)?.url, '/after-fuzz-inbound');
    assert.doesNotMatch(proxy.logs(), /uncaught|unhandled/i, 'no uncaught exception or unhandled rejection');
  }

  /** Feeds every case to its port; the proxy must run on and close each connection after our FIN. */
  const survives = (targets: readonly (FuzzCase & { port: number })[], window?: number): Promise<Fed[]> =>
    assertSurvives(
      proxy,
      sent,
      targets,
      (t) => `:${t.port}`,
      (t) => feed(t.port, t.bytes),
      window,
    );

  it('survives every generated input on the outbound, inbound, admin, health and metrics ports', async () => {
    const { outbound, inbound, admin, health, metrics } = proxy.ports;
    const targets = cases.flatMap((c) =>
      [outbound, inbound, admin, health, metrics].map((port) => ({ ...c, port })),
    );
    assert.equal(targets.length, CASES_PER_KIND * 4 * 5, 'every input goes to every port');
    await survives(targets);
    await stillServes();
  });

  it('survives structured HTTP/2 frames, mutated HTTP/2 exchanges and odd requests (HTTP/1.1 and h2c) on the outbound and the PERMISSIVE inbound', async () => {
    const h2Cases = sampleKinds(
      [
        ['structured HTTP/2 frames', h2Frames(AUTHORITY)],
        ['mutated HTTP/2 exchange', mutated([h2Conversation(AUTHORITY)])],
        ['odd HTTP/1.1 requests', oddHttp1Requests(AUTHORITY)],
        ['odd HTTP/2 requests', oddHttp2Requests(AUTHORITY)],
      ],
      H2_CASES_PER_KIND,
    );
    const { outbound, inbound } = proxy.ports;
    const requests = app.received.length;
    await survives(
      h2Cases.flatMap((c) => [outbound, inbound].map((port) => ({ ...c, port }))),
      H2_WINDOW,
    );
    assert.ok(app.received.length > requests, 'some of the requests reached the application');
    await stillServes();
  });

  it('closes an HTTP/2 connection after the GOAWAY it sent for an HPACK block it cannot decode (found by this test)', async () => {
    // HEADERS whose block is 0x71: a literal with a name from the static table and no value after it.
    const badHpack = Buffer.concat([
      H2_PREFACE,
      h2Frame(H2_TYPE.SETTINGS, 0, 0),
      h2Frame(H2_TYPE.HEADERS, H2_FLAG.END_STREAM | H2_FLAG.END_HEADERS, 0x29, Buffer.of(0x71)),
    ]);
    const done = sent.record('bad HPACK block', `:${proxy.ports.outbound}`, badHpack);
    const { received, capped } = await feed(proxy.ports.outbound, badHpack);
    done();
    const goaway = parseH2Frames(received).find((f) => f.type === H2_TYPE.GOAWAY);
    assert.equal(goaway?.payload.readUInt32BE(4), 0x9, 'a GOAWAY with COMPRESSION_ERROR');
    assert.equal(
      capped,
      false,
      `the connection was still open ${CONNECTION_CAP_MS} ms after the client's FIN`,
    );
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
    await inParallel([...Array(CASES_PER_KIND + RESPONSE_TEMPLATES.length).keys()], async (i) => {
      sent.note(`request ${i} to the garbage upstream`);
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
    await stillServes();
  });
});
