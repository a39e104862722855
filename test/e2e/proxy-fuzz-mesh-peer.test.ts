import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { repoRoot } from '../cluster/paths.js';
import {
  assertSurvives,
  exitMessage,
  feedTls,
  insideTlsKinds,
  sampleKinds,
  SentLog,
  type FuzzCase,
} from '../helpers/fuzz.js';
import { echoThrough, startEcho, type EchoServer } from '../helpers/gateway.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { inboundConfig, SERVICE_PORT, startUpstream, TestMeshPki, type Upstream } from '../helpers/proxy.js';

/**
 * "A bad peer never crashes the proxy", from inside the mesh: a peer with a valid workload
 * certificate of the same mesh CA completes mTLS to a STRICT inbound, then misbehaves inside the
 * TLS stream: random bytes, mutated HTTP/1.1 requests and HTTP/2 exchanges, structured HTTP/2
 * frames, and odd but well-framed requests (test/helpers/fuzz.ts), 50 of each under each of ALPN
 * http/1.1 and h2 to the HTTP port and weft-tcp to the TCP port. Afterwards the proxy must still
 * run, be ready, and serve a well-behaved peer over HTTP and TCP.
 */

const CASES_PER_KIND = 50;
const TCP_PORT = 9000;
const AUTHORITY = `svc:${SERVICE_PORT}`;
/** Connections at once: HTTP/2 sessions closed for a connection error wait 2 to 4 s for the idle PING probe. */
const WINDOW = 128;

/** Istio's mesh SNI: the peer's inbound port it means. */
const meshSni = (port: number): string => `outbound_.${port}_._.svc.default.svc.cluster.local`;

/** The ALPN protocols a peer proxy offers, each to the inbound port that serves it. */
const TARGETS = [
  { alpn: 'http/1.1', port: SERVICE_PORT },
  { alpn: 'h2', port: SERVICE_PORT },
  { alpn: 'weft-tcp', port: TCP_PORT },
] as const;

/** The sidecar of `svc` under STRICT: HTTP on 9080 to the app, TCP on 9000 to an echo server. */
function strictSidecar(appPort: number, echoPort: number): ProxyConfig {
  const base = inboundConfig(appPort, 'STRICT');
  const tcpCluster = `inbound|${TCP_PORT}||`;
  return {
    ...base,
    listeners: [
      ...base.listeners,
      {
        name: `inbound|${TCP_PORT}`,
        direction: 'inbound',
        port: TCP_PORT,
        protocol: 'tcp',
        tcpRoute: { clusters: [{ cluster: tcpCluster, weight: 100 }] },
      },
    ],
    clusters: [...base.clusters, { name: tcpCluster, type: 'static', protocol: 'tcp' }],
    endpoints: [
      ...base.endpoints,
      { cluster: tcpCluster, endpoints: [{ address: '127.0.0.1', port: echoPort }] },
    ],
  };
}

describe('a bad peer never crashes the proxy: a mesh peer that passes mTLS, then misbehaves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fuzz-mesh-'));
  const pki = new TestMeshPki();
  const peer = pki.workload('default', 'client');
  let app: Upstream;
  let echo: EchoServer;
  let proxy: ProxyProcess;
  const sent = new SentLog();

  /** The peer's side of mesh mTLS: its certificate, the mesh root, the SNI and ALPN of a peer proxy. */
  const mtls = (alpn: string, port: number): ConnectionOptions => ({
    cert: readFileSync(peer.certChain),
    key: readFileSync(peer.key),
    ca: readFileSync(peer.root),
    servername: meshSni(port),
    ALPNProtocols: [alpn],
    // A workload certificate names a SPIFFE ID, not a host: the chain to the mesh root is what counts.
    checkServerIdentity: () => undefined,
  });

  before(async () => {
    app = await startUpstream('svc');
    echo = await startEcho('db');
    const identity = pki.workload('default', 'svc');
    proxy = await startProxyProcess(
      ['--import', 'tsx', join(repoRoot, 'proxy', 'main.ts')],
      dir,
      strictSidecar(app.port, echo.port),
      [`--cert-chain=${identity.certChain}`, `--key=${identity.key}`, `--root-cert=${identity.root}`],
    );
  });

  after(async () => {
    await proxy?.stop();
    await app?.close();
    await echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** After the group: running, ready, and a well-behaved peer is served over HTTP and TCP. */
  async function stillServes(): Promise<void> {
    assert.equal(proxy.exitCode(), null, exitMessage(proxy, sent));
    const ready = await fetch(`http://127.0.0.1:${proxy.ports.health}/healthz/ready`);
    assert.equal(ready.status, 200, exitMessage(proxy, sent));
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: proxy.ports.inbound,
          path: '/after-fuzz',
          headers: { host: AUTHORITY },
          agent: false,
          ...mtls('http/1.1', SERVICE_PORT),
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(answer, { status: 200, body: 'hello from svc\n' });
    assert.equal(app.received.at(-1)?.headers['x-forwarded-client-cert']?.includes(peer.spiffeId), true);
    const tcp = tlsConnect({ host: '127.0.0.1', port: proxy.ports.inbound, ...mtls('weft-tcp', TCP_PORT) });
    const { greeting, echoed } = await echoThrough(tcp, Buffer.from('after fuzz'));
    assert.deepEqual([greeting, echoed.toString()], ['db', 'after fuzz']);
    assert.doesNotMatch(proxy.logs(), /uncaught|unhandled/i, 'no uncaught exception or unhandled rejection');
  }

  it('survives random bytes, mutated and odd HTTP/1.1 and HTTP/2, and HTTP/2 frames inside mTLS under ALPN http/1.1, h2 and weft-tcp', async () => {
    const cases = sampleKinds(insideTlsKinds(AUTHORITY), CASES_PER_KIND);
    const targets: (FuzzCase & { alpn: string; port: number })[] = TARGETS.flatMap((t) =>
      cases.map((c) => ({ ...c, ...t })),
    );
    const results = await assertSurvives(
      proxy,
      sent,
      targets,
      (t) => `mTLS ${t.alpn} to ${t.port}`,
      (t) => feedTls(proxy.ports.inbound, mtls(t.alpn, t.port), t.bytes),
      WINDOW,
    );
    assert.equal(
      results.filter((r) => r.secured).length,
      targets.length,
      'every peer completed the mTLS handshake before misbehaving',
    );
    assert.ok(app.received.length > 0, 'some of the HTTP the peers sent was forwarded to the application');
    assert.ok(echo.accepted.count > 0, 'the weft-tcp streams reached the TCP upstream');
    await stillServes();
  });
});
