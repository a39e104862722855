import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { issueCertificate } from './issue.js';
import {
  CA_KEYS,
  createSelfSignedCa,
  summariseRoot,
  validateCaSecret,
  type CaMaterial,
} from './ca-material.js';

const DAY = 86_400_000;
const SECRET = 'weft-system/plugin-ca';

/** As a Kubernetes Secret's `data`: every value base64. */
function secretData(material: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(material).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  );
}

function problemOf(result: ReturnType<typeof validateCaSecret>): { reason: string; message: string } {
  assert.ok('problem' in result, `expected a problem, got valid material`);
  return result.problem;
}

describe('createSelfSignedCa', () => {
  const now = new Date('2030-06-01T12:00:00.000Z');
  const ca = createSelfSignedCa('example.org', 30 * DAY, now);
  const cert = new X509Certificate(ca['ca-cert.pem']);

  it('makes a self-signed CA certificate whose key matches', () => {
    assert.equal(cert.ca, true);
    assert.equal(cert.verify(cert.publicKey), true);
    assert.equal(cert.checkPrivateKey(createPrivateKey(ca['ca-key.pem'])), true);
    assert.equal(cert.subject, cert.issuer);
    assert.match(cert.subject, /O=example\.org/);
  });

  it('is its own root and chain', () => {
    assert.equal(ca['root-cert.pem'], ca['ca-cert.pem']);
    assert.equal(ca['cert-chain.pem'], ca['ca-cert.pem']);
  });

  it('is valid from just before now until now + TTL', () => {
    assert.equal(new Date(cert.validTo).toISOString(), '2030-07-01T12:00:00.000Z');
    const notBefore = new Date(cert.validFrom).getTime();
    assert.ok(notBefore <= now.getTime(), 'valid from no later than now');
    assert.ok(notBefore >= now.getTime() - 10 * 60_000, 'backdated by minutes only');
  });

  it('follows a different TTL', () => {
    const short = new X509Certificate(createSelfSignedCa('example.org', DAY, now)['ca-cert.pem']);
    assert.equal(new Date(short.validTo).toISOString(), '2030-06-02T12:00:00.000Z');
  });

  it('makes a new key and serial each time', () => {
    const other = createSelfSignedCa('example.org', 30 * DAY, now);
    assert.notEqual(other['ca-key.pem'], ca['ca-key.pem']);
    assert.notEqual(new X509Certificate(other['ca-cert.pem']).serialNumber, cert.serialNumber);
  });
});

describe('summariseRoot', () => {
  it('gives the SHA-256 fingerprint of the DER certificate and its notAfter', () => {
    const ca = createSelfSignedCa('cluster.local', 10 * DAY, new Date('2031-01-01T00:00:00.000Z'));
    const summary = summariseRoot(ca['root-cert.pem']);
    const der = new X509Certificate(ca['root-cert.pem']).raw;
    const expected = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
    assert.equal(summary.fingerprintSHA256, expected);
    assert.equal(summary.notAfter, '2031-01-11T00:00:00.000Z');
  });
});

describe('validateCaSecret', () => {
  const ca = createSelfSignedCa('cluster.local', 30 * DAY);
  const other = createSelfSignedCa('cluster.local', 30 * DAY);

  it('accepts a self-signed CA and returns its decoded material', () => {
    const result = validateCaSecret(SECRET, secretData({ ...ca }));
    assert.ok('material' in result, JSON.stringify(result));
    assert.deepEqual(result.material, ca);
  });

  it('accepts an intermediate CA whose chain leads to the root', () => {
    const root = issueCertificate({ commonName: 'root', usage: 'ca', validDays: 30 });
    const intermediate = issueCertificate({ commonName: 'intermediate', usage: 'ca', validDays: 30 }, root);
    const material: CaMaterial = {
      'ca-cert.pem': intermediate.certPem,
      'ca-key.pem': intermediate.keyPem,
      'root-cert.pem': root.certPem,
      'cert-chain.pem': intermediate.certPem + root.certPem,
    };
    const result = validateCaSecret(SECRET, secretData({ ...material }));
    assert.ok('material' in result, JSON.stringify(result));
  });

  it('accepts root-cert.pem with old and new root, whichever the signing CA chains to and in either order', () => {
    for (const roots of [
      ca['root-cert.pem'] + other['root-cert.pem'],
      other['root-cert.pem'] + ca['root-cert.pem'],
    ]) {
      const result = validateCaSecret(SECRET, secretData({ ...ca, 'root-cert.pem': roots }));
      assert.ok('material' in result, JSON.stringify(result));
      assert.equal(result.material['root-cert.pem'], roots, 'every root is kept, as written');
    }
  });

  it('reports ChainMismatch when no root in root-cert.pem is the one the signing CA chains to', () => {
    const third = createSelfSignedCa('cluster.local', 30 * DAY);
    const problem = problemOf(
      validateCaSecret(
        SECRET,
        secretData({ ...ca, 'root-cert.pem': other['root-cert.pem'] + third['root-cert.pem'] }),
      ),
    );
    assert.equal(problem.reason, 'ChainMismatch');
    assert.match(problem.message, /chain up to a root in root-cert\.pem/);
  });

  it('reports SecretMissingKeys naming each missing key and the Secret', () => {
    for (const key of CA_KEYS) {
      const { [key]: _dropped, ...rest } = ca;
      const problem = problemOf(validateCaSecret(SECRET, secretData(rest)));
      assert.equal(problem.reason, 'SecretMissingKeys');
      assert.ok(problem.message.includes(SECRET), problem.message);
      assert.match(problem.message, new RegExp(`lacks ${key.replace('.', '\\.')}[;,]`));
    }
    const two = problemOf(
      validateCaSecret(
        SECRET,
        secretData({ 'ca-cert.pem': ca['ca-cert.pem'], 'ca-key.pem': ca['ca-key.pem'] }),
      ),
    );
    assert.match(two.message, /lacks root-cert\.pem, cert-chain\.pem;/);
  });

  it('reports SecretMissingKeys for a Secret without data or with an empty value', () => {
    const none = problemOf(validateCaSecret(SECRET, undefined));
    assert.equal(none.reason, 'SecretMissingKeys');
    assert.ok(none.message.includes(SECRET));
    const empty = problemOf(validateCaSecret(SECRET, { ...secretData({ ...ca }), 'ca-key.pem': '' }));
    assert.equal(empty.reason, 'SecretMissingKeys');
    assert.match(empty.message, /lacks ca-key\.pem;/);
  });

  it('reports MalformedCertificate for a certificate that is not PEM or does not parse', () => {
    const notPem = problemOf(validateCaSecret(SECRET, secretData({ ...ca, 'root-cert.pem': 'hello' })));
    assert.equal(notPem.reason, 'MalformedCertificate');
    assert.ok(notPem.message.includes(SECRET), notPem.message);
    assert.ok(notPem.message.includes('root-cert.pem'), notPem.message);

    const garbage = '-----BEGIN CERTIFICATE-----\nAAAAnotacertificate\n-----END CERTIFICATE-----\n';
    const bad = problemOf(validateCaSecret(SECRET, secretData({ ...ca, 'ca-cert.pem': garbage })));
    assert.equal(bad.reason, 'MalformedCertificate');
    assert.ok(bad.message.includes(SECRET), bad.message);
    assert.ok(bad.message.includes('ca-cert.pem'), bad.message);
  });

  it('reports MalformedKey for a key that does not parse', () => {
    const problem = problemOf(validateCaSecret(SECRET, secretData({ ...ca, 'ca-key.pem': 'not a key' })));
    assert.equal(problem.reason, 'MalformedKey');
    assert.ok(problem.message.includes(SECRET), problem.message);
    assert.ok(problem.message.includes('ca-key.pem'), problem.message);
  });

  it('reports KeyMismatch for the key of another CA', () => {
    const problem = problemOf(
      validateCaSecret(SECRET, secretData({ ...ca, 'ca-key.pem': other['ca-key.pem'] })),
    );
    assert.equal(problem.reason, 'KeyMismatch');
    assert.ok(problem.message.includes(SECRET), problem.message);
  });

  it('reports NotACertificateAuthority for a leaf certificate', () => {
    const issuer = issueCertificate({ commonName: 'root', usage: 'ca', validDays: 30 });
    const leaf = issueCertificate({ commonName: 'server', usage: 'server', validDays: 30 }, issuer);
    const material: CaMaterial = {
      'ca-cert.pem': leaf.certPem,
      'ca-key.pem': leaf.keyPem,
      'root-cert.pem': issuer.certPem,
      'cert-chain.pem': leaf.certPem + issuer.certPem,
    };
    const problem = problemOf(validateCaSecret(SECRET, secretData({ ...material })));
    assert.equal(problem.reason, 'NotACertificateAuthority');
    assert.ok(problem.message.includes(SECRET), problem.message);
  });

  it('reports ChainMismatch for the chain of another CA', () => {
    const problem = problemOf(
      validateCaSecret(SECRET, secretData({ ...ca, 'cert-chain.pem': other['cert-chain.pem'] })),
    );
    assert.equal(problem.reason, 'ChainMismatch');
    assert.ok(problem.message.includes(SECRET), problem.message);
  });

  it('reports ChainMismatch when ca-cert.pem is not the CA that root-cert.pem and cert-chain.pem describe', () => {
    const problem = problemOf(
      validateCaSecret(
        SECRET,
        secretData({
          ...ca,
          'root-cert.pem': other['root-cert.pem'],
          'cert-chain.pem': other['cert-chain.pem'],
        }),
      ),
    );
    assert.equal(problem.reason, 'ChainMismatch');
  });

  it('reports CertificateExpired once the CA is past its notAfter', () => {
    const later = new Date(Date.now() + 31 * DAY);
    const problem = problemOf(validateCaSecret(SECRET, secretData({ ...ca }), later));
    assert.equal(problem.reason, 'CertificateExpired');
    assert.ok(problem.message.includes(SECRET), problem.message);
  });
});
