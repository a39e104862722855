import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { issueCertificate } from '../../controllers/ca/issue.js';
import { Credentials } from '../identity/credentials.js';
import { MESH_ALPN_HTTP1, meshTlsConnector } from './connector.js';
import { keepSessions, MAX_SESSIONS, savedSession, sessionKey } from './tls-sessions.js';
import { workloadPem } from '../../test/helpers/workload-pki.js';

const root = issueCertificate({ commonName: 'weft test root', usage: 'ca', validDays: 1 });

function workload(sa: string): Credentials {
  const { certChain, key } = workloadPem(root, 'default', sa);
  return new Credentials(certChain, key, [root.certPem]);
}

const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server';
const SNI = 'outbound_.9080_._.svc.default.svc.cluster.local';

describe('mesh mTLS session resumption', () => {
  const server = workload('server');
  let client = workload('client');
  let tlsServer: Server;
  let port: number;
  /** What the server saw of each connection: resumed, and the client identity it verified. */
  const seen: { reused: boolean; peer: string | undefined }[] = [];

  before(async () => {
    tlsServer = createServer(
      { ...server.secureContextOptions(), requestCert: true, rejectUnauthorized: true },
      (s: TLSSocket) => {
        seen.push({ reused: s.isSessionReused(), peer: s.getPeerCertificate().subjectaltname });
        s.on('error', () => undefined);
        // TLS 1.3 tickets go out with the server's first write, as an HTTP answer carries them.
        s.end('ok');
      },
    );
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
    port = (tlsServer.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => tlsServer.close(() => r())));

  /** One connection through the mesh connector: whether it was resumed, or the error. */
  const connectOnce = (
    creds: Credentials,
    expectedIdentities: readonly string[] = [SERVER_ID],
  ): Promise<{ reused: boolean } | { error: string }> =>
    new Promise((resolve) => {
      const connect = meshTlsConnector({
        credentials: () => creds,
        sni: SNI,
        expectedIdentities,
        alpn: MESH_ALPN_HTTP1,
        connectTimeoutMs: 5_000,
      });
      connect({ hostname: '127.0.0.1', port: String(port), protocol: 'https:' }, (err, socket) => {
        if (err) return resolve({ error: err.message });
        const tls = socket as TLSSocket;
        const reused = tls.isSessionReused();
        // The server's ticket arrives after the handshake: wait for the connection to end.
        tls.on('data', () => undefined);
        tls.once('close', () => resolve({ reused }));
      });
    });

  const key = (): string => sessionKey('127.0.0.1', port, SNI, MESH_ALPN_HTTP1);

  it('resumes the second connection to a peer, and the peer still sees the client identity', async () => {
    assert.deepEqual(await connectOnce(client), { reused: false });
    assert.ok(savedSession(client, key()), 'the verified connection left a session');
    assert.deepEqual(await connectOnce(client), { reused: true });
    assert.equal(seen.at(-1)?.reused, true);
    assert.equal(seen.at(-1)?.peer, 'URI:spiffe://cluster.local/ns/default/sa/client');
  });

  it('still checks the peer identity on a resumed session, and forgets the session it refused', async () => {
    assert.ok(savedSession(client, key()));
    const refused = await connectOnce(client, ['spiffe://cluster.local/ns/default/sa/other']);
    assert.ok('error' in refused, 'a resumed session must not skip the identity check');
    assert.match(refused.error, /not one of the expected identities/);
    assert.equal(savedSession(client, key()), undefined);
  });

  it('starts afresh with new credentials (a renewal or a trust bundle change)', async () => {
    await connectOnce(client);
    assert.ok(savedSession(client, key()));
    client = client.withRoots([root.certPem]);
    assert.deepEqual(await connectOnce(client), { reused: false });
    assert.equal(seen.at(-1)?.reused, false);
  });

  it(`keeps at most ${MAX_SESSIONS} peers per credentials, the least recently used out first`, async () => {
    const creds = workload('many');
    await connectOnce(creds);
    const { session } = savedSession(creds, key())!;
    for (let i = 0; i < MAX_SESSIONS; i++) {
      // A socket as far as keepSessions listens to it: a verified handshake, then its session.
      const fake = new EventEmitter() as unknown as TLSSocket;
      Object.assign(fake, { authorized: true });
      keepSessions(creds, `peer-${i}`, fake, () => SERVER_ID);
      fake.emit('secureConnect');
      fake.emit('session', session);
    }
    assert.equal(savedSession(creds, key()), undefined, 'the oldest peer was evicted');
    assert.ok(savedSession(creds, 'peer-0'));
    assert.ok(savedSession(creds, `peer-${MAX_SESSIONS - 1}`));
  });
});
