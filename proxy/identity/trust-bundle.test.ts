import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { issueCertificate } from '../../controllers/ca/issue.js';
import { ConfigError } from '../config/config-error.js';
import { checkTrustBundle, fingerprints, pemCertificates, sameTrustBundle } from './trust-bundle.js';

describe('trust bundle', () => {
  const oldRoot = issueCertificate({ commonName: 'old root', usage: 'ca', validDays: 1 });
  const newRoot = issueCertificate({ commonName: 'new root', usage: 'ca', validDays: 1 });
  const leaf = issueCertificate({ commonName: 'leaf', usage: 'server', validDays: 1 }, oldRoot);

  it('splits a PEM file of several roots into one certificate each, in order, ignoring text between them', () => {
    const file = `# old\n${oldRoot.certPem}\nsome comment\n${newRoot.certPem}`;
    const split = pemCertificates(file);
    assert.equal(split.length, 2);
    assert.deepEqual(
      split.map((pem) => new X509Certificate(pem).subject),
      ['CN=old root', 'CN=new root'],
    );
    assert.deepEqual(pemCertificates('no certificate here'), []);
  });

  it('accepts CA certificates, one per entry', () => {
    assert.doesNotThrow(() => checkTrustBundle([oldRoot.certPem, newRoot.certPem]));
  });

  it('refuses an entry that is not exactly one CA certificate, naming the entry', () => {
    const refused = (bundle: string[], message: RegExp): void =>
      assert.throws(
        () => checkTrustBundle(bundle),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    refused(
      [oldRoot.certPem, oldRoot.certPem + newRoot.certPem],
      /^security\.trustBundle\[1\]: expected one PEM certificate, found 2/,
    );
    refused(['not a PEM'], /^security\.trustBundle\[0\]: expected one PEM certificate, found 0/);
    refused(
      ['-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n'],
      /^security\.trustBundle\[0\]: not a certificate/,
    );
    refused([newRoot.certPem, leaf.certPem], /^security\.trustBundle\[1\]: CN=leaf is not a CA certificate/);
  });

  it('compares bundles by content and order', () => {
    assert.equal(sameTrustBundle(undefined, undefined), true);
    assert.equal(sameTrustBundle([oldRoot.certPem], undefined), false);
    assert.equal(sameTrustBundle([oldRoot.certPem], [`${oldRoot.certPem}`]), true);
    assert.equal(
      sameTrustBundle([oldRoot.certPem, newRoot.certPem], [newRoot.certPem, oldRoot.certPem]),
      false,
    );
  });

  it('fingerprints every root, also several in one entry', () => {
    assert.deepEqual(fingerprints([oldRoot.certPem + newRoot.certPem]), [
      new X509Certificate(oldRoot.certPem).fingerprint256,
      new X509Certificate(newRoot.certPem).fingerprint256,
    ]);
  });
});
