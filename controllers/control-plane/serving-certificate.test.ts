import assert from 'node:assert/strict';
import { connect as http2Connect, createSecureServer, type ClientHttp2Session } from 'node:http2';
import { Agent, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { issueCertificate, type KeyPair } from '../ca/issue.js';
import { startWebhookServer } from '../../webhooks/server.js';
import { waitUntil } from '../../test/helpers/wait.js';
import {
  DEFAULT_RENEWAL_POLICY,
  renewalDelayMs,
  renewalTime,
  retryDelayMs,
  secureContextOptions,
  ServingCertificate,
  type ServingCredential,
} from './serving-certificate.js';

const DAY = 86_400_000;
const log = pino({ level: 'silent' });

describe('serving certificate renewal schedule', () => {
  const thirtyDays = { notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2025, 0, 31) };

  it('renews at two thirds of the lifetime, counted from notBefore', () => {
    assert.equal(renewalTime(thirtyDays), Date.UTC(2025, 0, 21));
    assert.equal(renewalDelayMs(thirtyDays, Date.UTC(2025, 0, 20)), DAY);
  });

  it('does not drift: a timer that fires late waits only for what is left', () => {
    const late = Date.UTC(2025, 0, 20, 23);
    assert.equal(renewalDelayMs(thirtyDays, late), 3_600_000);
  });

  it('waits at least the floor when the renewal time has passed, so it never spins', () => {
    assert.equal(renewalDelayMs(thirtyDays, Date.UTC(2025, 0, 30)), DEFAULT_RENEWAL_POLICY.minDelayMs);
  });

  it('waits at most the ceiling (timers overflow past 24.8 days), then looks again', () => {
    const year = { notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2026, 0, 1) };
    assert.equal(renewalDelayMs(year, year.notBefore), DEFAULT_RENEWAL_POLICY.maxDelayMs);
  });

  it('backs off exponentially after failures, up to the cap', () => {
    const delays = [1, 2, 3, 4, 10, 1_000].map((failures) => retryDelayMs(failures));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 300_000, 300_000]);
  });
});

/** The serial and notAfter a NEW connection to `port` is served, verified against `root`. */
function servedCertificate(port: number, root: string): Promise<{ serial: string; notAfter: number }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, ca: root, ALPNProtocols: ['h2', 'http/1.1'] },
      () => {
        const cert = socket.getPeerCertificate();
        socket.destroy();
        resolve({ serial: cert.serialNumber, notAfter: Date.parse(cert.valid_to) });
      },
    );
    socket.once('error', reject);
  });
}

function h2Get(session: ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/' });
    stream.once('response', (headers) => resolve(Number(headers[':status'])));
    stream.once('error', reject);
    stream.resume();
    stream.end();
  });
}

function httpsGet(port: number, agent: Agent): Promise<{ status: number; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      // Read now: the agent takes the socket back once the response ends.
      const socket = res.socket as TLSSocket;
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, socket }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** A serving credential from `ca` for 127.0.0.1, as the control plane issues its own. */
function issuer(ca: () => KeyPair): (validityMs: number) => ServingCredential {
  return (validityMs) => ({
    ...issueCertificate(
      {
        commonName: 'weft-control-plane.weft-system.svc',
        usage: 'server',
        validityMs,
        ipAddresses: ['127.0.0.1'],
      },
      ca(),
    ),
    chainPem: ca().certPem,
    rootPem: ca().certPem,
  });
}

/** The push/CA server (http2, asks for client certificates) and the webhook server, both on loopback. */
async function startServers(
  serving: ServingCertificate,
): Promise<{ push: number; webhook: number; close: () => void }> {
  const push = createSecureServer({
    ...secureContextOptions(serving.current, { verifyClients: true }),
    requestCert: true,
    rejectUnauthorized: false,
  });
  push.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok\n');
  });
  await new Promise<void>((resolve) => push.listen(0, '127.0.0.1', resolve));
  serving.serve(push, (c) => secureContextOptions(c, { verifyClients: true }));

  const webhook: HttpsServer = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    cert: serving.current.certPem,
    key: serving.current.keyPem,
    validators: new Map(),
    injectionSettings: () => undefined,
    log,
  });
  // The API server keeps its connections to the webhooks; this one must outlive the renewal.
  webhook.keepAliveTimeout = 60_000;
  serving.serve(webhook, (c) => secureContextOptions(c, { verifyClients: false }));
  return {
    push: (push.address() as AddressInfo).port,
    webhook: (webhook.address() as AddressInfo).port,
    close: () => {
      push.close();
      webhook.closeAllConnections();
      webhook.close();
    },
  };
}

describe('serving certificate renewal on real TLS servers', () => {
  const ca = issueCertificate({ commonName: 'weft test root', usage: 'ca', validDays: 1 });
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((f) => f()));

  it('renews a short-lived certificate: new connections get it, open ones carry on', async () => {
    const registry = new Registry();
    const serving = await ServingCertificate.start({
      issue: issuer(() => ca),
      validityMs: 5_000,
      log,
      registry,
    });
    cleanup.push(() => serving.stop());
    const ports = await startServers(serving);
    cleanup.push(ports.close);
    const first = await servedCertificate(ports.push, ca.certPem);
    assert.equal((await servedCertificate(ports.webhook, ca.certPem)).serial, first.serial);

    // Connections opened before the renewal: a proxy's push stream, the API server's keep-alive.
    const session = http2Connect(`https://127.0.0.1:${ports.push}`, { ca: ca.certPem });
    cleanup.push(() => session.close());
    assert.equal(await h2Get(session), 200);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    cleanup.push(() => agent.destroy());
    const before = await httpsGet(ports.webhook, agent);
    assert.equal(before.status, 404);

    for (const [name, port] of Object.entries(ports).filter(([, p]) => typeof p === 'number')) {
      const renewed = (await waitUntil(
        `a new connection to the ${name} port to get a renewed certificate`,
        async () => {
          const seen = await servedCertificate(port as number, ca.certPem);
          return { done: seen.serial !== first.serial, state: seen };
        },
      )) as { serial: string; notAfter: number };
      assert.ok(
        renewed.notAfter > first.notAfter,
        `renewed notAfter ${renewed.notAfter} after ${first.notAfter}`,
      );
    }

    assert.equal(await h2Get(session), 200);
    assert.equal((session.socket as TLSSocket).getPeerCertificate().serialNumber, first.serial);
    const afterRenewal = await httpsGet(ports.webhook, agent);
    assert.equal(afterRenewal.status, 404);
    assert.equal(afterRenewal.socket, before.socket, 'the webhook connection was reused, not reopened');
    assert.equal(afterRenewal.socket.getPeerCertificate().serialNumber, first.serial);

    serving.stop();
    const gauge = await registry.getSingleMetric('weft_control_plane_serving_cert_expiry_seconds')!.get();
    assert.equal(gauge.values[0]?.value, serving.validity.notAfter / 1000);
  });

  it('re-issues from a new mesh CA at once, and keeps serving the current certificate while issuing fails', async () => {
    let current = ca;
    let failing = false;
    const issue = issuer(() => current);
    const serving = await ServingCertificate.start({
      issue: (validityMs) => {
        if (failing) throw new Error('the CA Secret is unreadable');
        return issue(validityMs);
      },
      validityMs: DAY,
      log,
      registry: new Registry(),
      policy: { ...DEFAULT_RENEWAL_POLICY, retryInitialMs: 50 },
    });
    cleanup.push(() => serving.stop());
    const ports = await startServers(serving);
    cleanup.push(ports.close);
    const first = await servedCertificate(ports.push, ca.certPem);

    current = issueCertificate({ commonName: 'weft test root 2', usage: 'ca', validDays: 1 });
    failing = true;
    await serving.renew('mesh CA changed');
    assert.equal((await servedCertificate(ports.push, ca.certPem)).serial, first.serial);
    failing = false;

    const newRoot = current.certPem;
    await waitUntil('the retry to serve a certificate from the new mesh CA', async () => {
      const seen = await servedCertificate(ports.webhook, newRoot);
      return { done: seen.serial !== first.serial, state: seen };
    });
    await assert.rejects(
      servedCertificate(ports.push, ca.certPem),
      /unable to verify|self.signed|certificate/i,
    );
  });
});
