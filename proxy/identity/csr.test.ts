import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import forge from 'node-forge';
import { createCsr } from './csr.js';

const rsaKey = (): string =>
  generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

describe('createCsr', () => {
  const keyPem = rsaKey();
  const spiffe = 'spiffe://cluster.local/ns/bookinfo/sa/reviews';

  it('is a PKCS#10 request the CA parses and whose signature verifies with its key', () => {
    const csr = forge.pki.certificationRequestFromPem(createCsr(keyPem, spiffe));
    assert.equal(csr.verify(), true);
    const pub = csr.publicKey as forge.pki.rsa.PublicKey;
    const priv = forge.pki.privateKeyFromPem(keyPem);
    assert.equal(pub.n.toString(16), priv.n.toString(16));
    assert.equal((csr.subject.getField('O') as { value: string } | null)?.value, 'weft');
    const ext = csr.getAttribute({ name: 'extensionRequest' }) as unknown as {
      extensions: { name: string; altNames: { type: number; value: string }[] }[];
    };
    const san = ext.extensions.find((e) => e.name === 'subjectAltName');
    assert.deepEqual(
      san?.altNames.map((a) => [a.type, a.value]),
      [[6, spiffe]],
    );
  });

  it('asks for no extension without a SPIFFE ID', () => {
    const csr = forge.pki.certificationRequestFromPem(createCsr(keyPem));
    assert.equal(csr.verify(), true);
    assert.equal(csr.getAttribute({ name: 'extensionRequest' }), null);
  });

  it('is accepted by openssl req -verify, with the SAN as a URI', () => {
    const text = execFileSync('openssl', ['req', '-verify', '-noout', '-text'], {
      input: createCsr(keyPem, spiffe),
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString();
    assert.match(text, /URI:spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/reviews/);
    assert.match(text, /Subject: O ?= ?weft/);
    assert.match(text, /sha256WithRSAEncryption/);
  });

  it('refuses a key type the mesh CA cannot sign, naming it', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    assert.throws(
      () => createCsr(ec.toString(), spiffe),
      /the workload key is ec; the mesh CA signs RSA keys only/,
    );
  });
});
