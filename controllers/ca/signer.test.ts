import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSelfSignedCa } from './ca-material.js';
import { generateRsaKeyPem } from './issue.js';
import { createCsr } from '../../proxy/identity/csr.js';
import { CsrRefused, signWorkloadCsr, spiffeUri } from './signer.js';

describe('workload certificate signing', () => {
  const material = createSelfSignedCa('cluster.local', 86_400_000);
  const ca = {
    certPem: material['ca-cert.pem'],
    keyPem: material['ca-key.pem'],
    chainPem: material['cert-chain.pem'],
  };
  const caller = { trustDomain: 'cluster.local', namespace: 'bookinfo', serviceAccount: 'reviews' };
  const key = generateRsaKeyPem();

  it('issues a certificate for the caller identity, chained to the root, for the TTL', () => {
    const now = new Date();
    const chain = signWorkloadCsr(createCsr(key, spiffeUri(caller)), caller, ca, 24 * 3_600_000, now);
    const [leafPem, rootPem] = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
    const leaf = new X509Certificate(leafPem);
    const root = new X509Certificate(rootPem!);
    assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/bookinfo/sa/reviews');
    assert.equal(leaf.ca, false);
    assert.ok(leaf.verify(root.publicKey), 'signed by the mesh CA');
    assert.equal(root.fingerprint256, new X509Certificate(ca.certPem).fingerprint256);
    const lifetime = new Date(leaf.validTo).getTime() - now.getTime();
    assert.ok(Math.abs(lifetime - 24 * 3_600_000) < 2_000, `lifetime ${lifetime}`);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('names the key of the CA that signed it, so a root of the same name cannot be taken for it', () => {
    // Old and new root of a rotation share a subject; OpenSSL tells them apart by key identifier.
    const other = createSelfSignedCa('cluster.local', 86_400_000);
    assert.equal(new X509Certificate(other['ca-cert.pem']).subject, new X509Certificate(ca.certPem).subject);
    const leaf = new X509Certificate(signWorkloadCsr(createCsr(key), caller, ca, 3_600_000));
    assert.equal(leaf.checkIssued(new X509Certificate(ca.certPem)), true);
    assert.equal(leaf.checkIssued(new X509Certificate(other['ca-cert.pem'])), false);
  });

  it('takes the identity from the caller, ignoring what a CSR without SANs claims in its subject', () => {
    const leaf = new X509Certificate(signWorkloadCsr(createCsr(key), caller, ca, 3_600_000));
    assert.equal(leaf.subjectAltName, `URI:${spiffeUri(caller)}`);
  });

  it('refuses a CSR that asks for another identity', () => {
    const other = { ...caller, serviceAccount: 'ratings' };
    assert.throws(
      () => signWorkloadCsr(createCsr(key, spiffeUri(other)), caller, ca, 3_600_000),
      (err: unknown) =>
        err instanceof CsrRefused &&
        err.reason === 'foreign-identity' &&
        /cannot get a certificate for spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/ratings/.test(err.message),
    );
  });

  it('refuses a malformed CSR without crashing', () => {
    assert.throws(
      () => signWorkloadCsr('not a csr', caller, ca, 3_600_000),
      (err: unknown) => err instanceof CsrRefused && err.reason === 'malformed',
    );
  });
});
