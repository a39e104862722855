import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, createServer, type Server } from 'node:tls';
import pino from 'pino';
import { issueCertificate, type KeyPair } from '../../controllers/ca/issue.js';
import { ConfigError } from '../config/config-error.js';
import { WorkloadIdentity } from './workload-identity.js';
import { workloadPem } from '../../test/helpers/workload-pki.js';

/** Files of a workload certificate for default/`sa` signed by `root`, as `--cert-chain/--key/--root-cert` take them. */
function workloadFiles(root: KeyPair, sa: string): { certChain: string; key: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-identity-'));
  const { certChain: chain, key } = workloadPem(root, 'default', sa);
  const files = { certChain: join(dir, 'chain.pem'), key: join(dir, 'key.pem'), root: join(dir, 'root.pem') };
  writeFileSync(files.certChain, chain);
  writeFileSync(files.key, key);
  writeFileSync(files.root, root.certPem);
  return files;
}

describe('workload identity: the trust bundle', () => {
  const rootA = issueCertificate({ commonName: 'root A', usage: 'ca', validDays: 1 });
  const rootB = issueCertificate({ commonName: 'root B', usage: 'ca', validDays: 1 });
  const files = workloadFiles(rootA, 'client');
  const identity = new WorkloadIdentity({ kind: 'files', ...files }, pino({ level: 'silent' }));
  /** A TLS server presenting a certificate signed by root B only. */
  let serverB: Server;

  before(async () => {
    await identity.start();
    const leaf = issueCertificate(
      { commonName: 'b', usage: 'server', validDays: 1, dnsNames: ['localhost'] },
      rootB,
    );
    serverB = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (s) => s.end());
    await new Promise<void>((r) => serverB.listen(0, '127.0.0.1', () => r()));
  });
  after(() => new Promise<void>((r) => serverB.close(() => r())));

  /** Whether a handshake with the current credentials' context verifies server B. */
  const verifiesB = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port: (serverB.address() as AddressInfo).port,
        servername: 'localhost',
        secureContext: identity.current()!.context,
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  it('trusts the root file until a bundle arrives, then every root of the bundle', async () => {
    assert.deepEqual(identity.current()!.roots, [readFileSync(files.root, 'utf8')]);
    assert.equal(await verifiesB(), false);
    const was = identity.current()!;
    const install = identity.prepareTrustBundle([rootA.certPem, rootB.certPem]);
    assert.equal(identity.current(), was, 'nothing changes before the swap');
    install();
    const now = identity.current()!;
    assert.notEqual(now, was, 'new credentials: listeners rebuild their contexts from them');
    assert.deepEqual(now.roots, [rootA.certPem, rootB.certPem]);
    assert.equal(now.spiffeId, was.spiffeId);
    assert.equal(now.certChainPem, was.certChainPem);
    assert.equal(await verifiesB(), true);
  });

  it('keeps the credentials when the same bundle comes again', () => {
    const was = identity.current();
    identity.prepareTrustBundle([rootA.certPem, rootB.certPem])();
    assert.equal(identity.current(), was);
  });

  it('refuses a bundle it cannot use, changing nothing', () => {
    const was = identity.current();
    const leaf = issueCertificate({ commonName: 'not a root', usage: 'client', validDays: 1 }, rootA);
    assert.throws(
      () => identity.prepareTrustBundle([rootA.certPem, leaf.certPem]),
      (err: unknown) => err instanceof ConfigError && err.path === 'security.trustBundle[1]',
    );
    assert.equal(identity.current(), was);
  });

  it('stops trusting a root the bundle drops, and goes back to the root file without a bundle', async () => {
    identity.prepareTrustBundle([rootA.certPem])();
    assert.equal(await verifiesB(), false);
    identity.prepareTrustBundle([rootB.certPem])();
    assert.equal(await verifiesB(), true);
    identity.prepareTrustBundle(undefined)();
    assert.deepEqual(identity.current()!.roots, [readFileSync(files.root, 'utf8')]);
    assert.equal(await verifiesB(), false);
  });
});
