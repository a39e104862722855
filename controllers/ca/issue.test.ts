import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { issueCertificate } from './issue.js';

describe('certificate issuance', () => {
  const ca = issueCertificate({ commonName: 'test-ca', usage: 'ca', validDays: 1 });

  it('issues a self-signed CA that Node verifies', () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.verify(cert.publicKey), true);
    assert.ok(cert.checkPrivateKey(createPrivateKey(ca.keyPem)));
  });

  it("names its issuer's key, telling apart two CAs of the same name", () => {
    const twin = issueCertificate({ commonName: 'test-ca', usage: 'ca', validDays: 1 });
    const leaf = new X509Certificate(
      issueCertificate({ commonName: 'api', usage: 'server', validDays: 1 }, ca).certPem,
    );
    assert.equal(leaf.checkIssued(new X509Certificate(ca.certPem)), true);
    assert.equal(leaf.checkIssued(new X509Certificate(twin.certPem)), false);
  });

  it('issues a serving certificate signed by the CA with DNS and IP SANs', () => {
    const leaf = issueCertificate(
      {
        commonName: 'api',
        usage: 'server',
        validDays: 1,
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
      },
      ca,
    );
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(cert.ca, false);
    assert.equal(cert.verify(new X509Certificate(ca.certPem).publicKey), true);
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('puts the organization of a client certificate in its subject (Kubernetes reads it as the group)', () => {
    const client = issueCertificate(
      { commonName: 'weft-admin', organization: 'system:masters', usage: 'client', validDays: 1 },
      ca,
    );
    const cert = new X509Certificate(client.certPem);
    assert.match(cert.subject, /CN=weft-admin/);
    assert.match(cert.subject, /O=system:masters/);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  });

  it('issues a short-lived certificate to the second, backdated by a tenth of its lifetime at most', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const leaf = issueCertificate({ commonName: 'brief', usage: 'server', validityMs: 10_000 }, ca);
    const cert = new X509Certificate(leaf.certPem);
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    assert.ok(notBefore >= before - 2_000, `notBefore ${cert.validFrom} is backdated by more than a second`);
    assert.ok(
      notAfter - notBefore >= 10_000 && notAfter - notBefore <= 12_000,
      `${cert.validFrom} – ${cert.validTo}`,
    );
  });

  it('keeps the one-minute backdating for certificates that live for days', () => {
    const cert = new X509Certificate(ca.certPem);
    const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    assert.ok(Math.abs(lifetime - (86_400_000 + 60_000)) <= 1_000, `${cert.validFrom} – ${cert.validTo}`);
  });

  it('refuses a validity that is not positive', () => {
    assert.throws(
      () => issueCertificate({ commonName: 'never', usage: 'server', validityMs: 0 }),
      /validity must be positive, not 0 ms/,
    );
  });
});
