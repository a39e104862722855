import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { freePort } from '../helpers/gateway.js';
import { metricValue } from '../helpers/prometheus.js';
import {
  NO_POLICIES,
  scrape,
  startTestProxy,
  TCP_SERVICE_PORT,
  tcpInboundConfig,
  TestMeshPki,
  type TestProxy,
} from '../helpers/proxy.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Half-close through real proxies, as Envoy's tcp_proxy and HAProxy carry it: a client that sends
 * its request and shuts down its write side (FIN) still gets the answer, and an application that
 * finishes first still gets what the client sends afterwards. Both ways, through one sidecar, and
 * through two proxies joined by mesh mTLS (ALPN weft-tcp), whose TLS ends carry the FIN as
 * close_notify.
 */

const DB_SERVICE = 'db.default.svc.cluster.local';
const DB_CLUSTER = `outbound|${TCP_SERVICE_PORT}||${DB_SERVICE}`;
const DB_ID = 'spiffe://cluster.local/ns/default/sa/db';
const GREETING = 'hello from db, who has nothing more to say\n';

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** What the application answers once it has read a connection to its end. */
const answerTo = (request: Buffer): string => `got ${request.length} bytes, sha256 ${digest(request)}`;

/**
 * A TCP application that half-closes as real ones may (allowHalfOpen): it either reads each
 * connection to its FIN and only then answers and ends (`answer-at-eof`), or greets, ends its own
 * side at once and reads on (`greet-first`). `readToEof` has what each connection brought, in order.
 */
interface TcpApp {
  readonly port: number;
  mode: 'answer-at-eof' | 'greet-first';
  readonly readToEof: Buffer[];
  close(): Promise<void>;
}

async function startTcpApp(): Promise<TcpApp> {
  const sockets = new Set<Socket>();
  const readToEof: Buffer[] = [];
  const app = { port: 0, mode: 'answer-at-eof' as TcpApp['mode'], readToEof };
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    if (app.mode === 'greet-first') s.end(GREETING);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      const request = Buffer.concat(chunks);
      readToEof.push(request);
      if (app.mode === 'answer-at-eof') s.end(answerTo(request));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return Object.assign(app, {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  });
}

/** A client connection that may write after the proxy's FIN (allowHalfOpen), and records how it went. */
class HalfClosingClient {
  private received: Buffer[] = [];
  private ended = false;
  private closed = false;
  error: string | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (c: Buffer) => this.received.push(c));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.closed = true));
    socket.on('error', (e: NodeJS.ErrnoException) => (this.error = e.code ?? e.message));
    for (const event of ['data', 'end', 'close', 'error']) socket.on(event, () => this.wake());
  }

  static open(port: number): Promise<HalfClosingClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      socket.once('connect', () => resolve(new HalfClosingClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `bytes`, then shuts down the write side: the FIN follows the last byte. */
  endWith(bytes: Buffer): void {
    this.socket.end(bytes);
  }

  /** Everything read until the proxy's FIN (throws if the connection fails or closes without one). */
  async untilEnd(): Promise<string> {
    await this.until(() => this.ended || this.closed);
    if (!this.ended)
      throw new Error(`closed without a FIN (${this.error ?? 'no error'}) after ${this.text()}`);
    return this.text();
  }

  /** Resolves once both directions are done and the connection is closed. */
  async untilClosed(): Promise<void> {
    await this.until(() => this.closed);
  }

  private text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done()) {
      await new Promise<void>((r) => {
        const w = (): void => {
          this.waiters.delete(w);
          r();
        };
        this.waiters.add(w);
      });
    }
  }
}

/** Waits until a fresh plain connection to `port` is accepted: a gateway binds its ports on its own. */
async function accepting(port: number): Promise<void> {
  await waitUntil(`port ${port} to accept connections`, async () => {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    return { done: up, state: up };
  });
}

/** A gateway whose TCP port forwards to `db` over mesh mTLS, to `db`'s sidecar at `sidecarInbound`. */
function gatewayToDb(port: number, sidecarInbound: number): ProxyConfig {
  return {
    version: 'weft.proxy/v1',
    node: { id: 'gw.default', role: 'gateway', namespace: 'default', labels: { app: 'gw' } },
    listeners: [
      {
        name: `gateway|${port}|tcp`,
        direction: 'gateway',
        port,
        protocol: 'tcp',
        tcpRoute: { clusters: [{ cluster: DB_CLUSTER, weight: 100 }] },
      },
    ],
    routes: [],
    clusters: [
      {
        name: DB_CLUSTER,
        type: 'eds',
        protocol: 'tcp',
        service: { host: DB_SERVICE, port: TCP_SERVICE_PORT },
        tls: { mode: 'MESH' },
      },
    ],
    endpoints: [
      {
        cluster: DB_CLUSTER,
        endpoints: [{ address: '127.0.0.1', port: sidecarInbound, identity: DB_ID, meshTls: true }],
      },
    ],
    security: { mtls: { mode: 'PERMISSIVE' }, authorization: NO_POLICIES },
  };
}

/** Opened and closed TCP connections, and bytes each way, of a proxy as it reports them. */
interface TcpCounters {
  readonly opened: number;
  readonly closed: number;
  readonly sent: number;
  readonly received: number;
}

async function tcpCounters(proxy: TestProxy): Promise<TcpCounters> {
  const text = await scrape(proxy.metrics);
  return {
    opened: metricValue(text, 'weft_tcp_connections_opened_total'),
    closed: metricValue(text, 'weft_tcp_connections_closed_total'),
    sent: metricValue(text, 'weft_tcp_sent_bytes_total'),
    received: metricValue(text, 'weft_tcp_received_bytes_total'),
  };
}

/**
 * The counters of `proxies` once every connection each has opened is closed (at least `opened` on
 * the first): a connection is counted closed, with its bytes, when both of its ways are done.
 */
async function settled(proxies: readonly TestProxy[], opened = 0): Promise<TcpCounters[]> {
  return (await waitUntil('every proxied TCP connection to be closed and counted', async () => {
    const counters = await Promise.all(proxies.map((p) => tcpCounters(p)));
    const done = counters[0]!.opened >= opened && counters.every((c) => c.closed === c.opened);
    return { done, state: counters };
  })) as TcpCounters[];
}

describe('weft-proxy TCP half-close: a FIN is passed on, and the other direction keeps flowing', () => {
  const pki = new TestMeshPki();
  let app: TcpApp;
  let sidecarPlain: TestProxy;
  let sidecarStrict: TestProxy;
  let gateway: TestProxy;
  let gatewayPort: number;

  before(async () => {
    app = await startTcpApp();
    const dbIdentity = pki.workload('default', 'db');
    sidecarPlain = await startTestProxy(tcpInboundConfig(app.port, 'PERMISSIVE'), { identity: dbIdentity });
    sidecarStrict = await startTestProxy(tcpInboundConfig(app.port, 'STRICT'), { identity: dbIdentity });
    gatewayPort = await freePort();
    gateway = await startTestProxy(gatewayToDb(gatewayPort, sidecarStrict.inbound), {
      identity: pki.workload('default', 'gw'),
    });
    await accepting(gatewayPort);
  });

  after(async () => {
    await Promise.all([sidecarPlain?.stop(), sidecarStrict?.stop(), gateway?.stop()]);
    await app?.close();
  });

  /** Where a client connects, and the proxies on the way, the client's own first. */
  const paths: { name: string; port: () => number; proxies: () => TestProxy[] }[] = [
    {
      name: "through db's sidecar (plaintext, PERMISSIVE)",
      port: () => sidecarPlain.inbound,
      proxies: () => [sidecarPlain],
    },
    {
      name: "through a gateway and db's sidecar, joined by mesh mTLS (STRICT)",
      port: () => gatewayPort,
      proxies: () => [gateway, sidecarStrict],
    },
  ];

  for (const path of paths) {
    describe(path.name, () => {
      it('a client that half-closes after its request gets the answer the application writes at EOF', async () => {
        app.mode = 'answer-at-eof';
        const [before] = await settled(path.proxies());
        // Larger than the socket buffers each way: the FIN must follow the last byte, not overtake it.
        const request = Buffer.alloc(1024 * 1024, 'half-closed request ');
        const client = await HalfClosingClient.open(path.port());
        client.endWith(request);
        const answer = await client.untilEnd();
        assert.equal(answer, answerTo(request));
        await client.untilClosed();
        assert.equal(client.error, undefined);
        // Closed on every proxy once both ways were done, and counted once, with the bytes of both ways.
        const [after] = await settled(path.proxies(), before!.opened + 1);
        assert.equal(after!.opened - before!.opened, 1);
        assert.equal(after!.received - before!.received, request.length, 'bytes from the client');
        assert.equal(after!.sent - before!.sent, answer.length, 'bytes to the client');
      });

      it('an application that half-closes first still receives what the client sends afterwards', async () => {
        app.mode = 'greet-first';
        const seen = app.readToEof.length;
        const client = await HalfClosingClient.open(path.port());
        assert.equal(await client.untilEnd(), GREETING, 'the greeting, then the FIN');
        const late = Buffer.alloc(256 * 1024, 'sent after the FIN ');
        client.endWith(late);
        await client.untilClosed();
        assert.equal(client.error, undefined);
        await waitUntil('the application to read the late bytes to their FIN', () => {
          const digests = app.readToEof.slice(seen).map(digest);
          return { done: digests.includes(digest(late)), state: digests };
        });
        await settled(path.proxies());
      });
    });
  }
});
