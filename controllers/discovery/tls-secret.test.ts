import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { issueCertificate } from '../ca/issue.js';
import { redactSecrets, tlsSecretFrom } from './tls-secret.js';

const ca = issueCertificate({ commonName: 'example-ca', usage: 'ca', validDays: 1 });
const server = issueCertificate(
  { commonName: 'shop.example.com', usage: 'server', validDays: 1, dnsNames: ['shop.example.com'] },
  ca,
);
const other = issueCertificate({ commonName: 'other', usage: 'server', validDays: 1 }, ca);
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function secret(data: Record<string, string>, type = 'kubernetes.io/tls'): V1Secret {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));
  return { metadata: { name: 'shop-cert', namespace: 'edge' }, type, data: encoded };
}

const read = (s: V1Secret | undefined, mutual = false, caSecret?: V1Secret) =>
  tlsSecretFrom('edge', 'shop-cert', s, { mutual, ...(caSecret ? { caSecret } : {}) });

describe('gateway credential from a Secret', () => {
  it('reads tls.crt and tls.key of a kubernetes.io/tls Secret, named as credentialName', () => {
    const result = read(secret({ 'tls.crt': server.certPem + ca.certPem, 'tls.key': server.keyPem }));
    assert.ok(result.ok);
    assert.equal(result.secret.name, 'shop-cert');
    assert.equal(result.secret.certificateChain, server.certPem + ca.certPem);
    assert.equal(result.secret.privateKey, server.keyPem);
    assert.equal(result.secret.caCertificates, undefined);
  });

  it('reads an Opaque Secret too, and refuses other types by name', () => {
    assert.ok(read(secret({ 'tls.crt': server.certPem, 'tls.key': server.keyPem }, 'Opaque')).ok);
    const result = read(
      secret({ 'tls.crt': server.certPem, 'tls.key': server.keyPem }, 'kubernetes.io/dockerconfigjson'),
    );
    assert.ok(!result.ok);
    assert.match(result.error, /Secret edge\/shop-cert has type kubernetes\.io\/dockerconfigjson/);
  });

  it('says how to create a missing Secret', () => {
    const result = read(undefined);
    assert.ok(!result.ok);
    assert.match(result.error, /Secret edge\/shop-cert not found/);
    assert.match(result.error, /kubectl create secret tls shop-cert -n edge/);
  });

  it('names a missing key', () => {
    const result = read(secret({ 'tls.crt': server.certPem }));
    assert.ok(!result.ok);
    assert.equal(result.key, 'tls.key');
    assert.match(result.error, /has no key "tls\.key"/);
  });

  it('refuses a certificate that is not PEM and a key that belongs to another certificate', () => {
    const garbage = read(secret({ 'tls.crt': 'not a certificate', 'tls.key': server.keyPem }));
    assert.ok(!garbage.ok);
    assert.equal(garbage.key, 'tls.crt');
    const mismatch = read(secret({ 'tls.crt': server.certPem, 'tls.key': other.keyPem }));
    assert.ok(!mismatch.ok);
    assert.equal(mismatch.key, 'tls.key');
    assert.match(mismatch.error, /not the private key of the certificate/);
  });

  it('MUTUAL takes the client CA from ca.crt, else from the <name>-cacert Secret', () => {
    const own = read(
      secret({ 'tls.crt': server.certPem, 'tls.key': server.keyPem, 'ca.crt': ca.certPem }),
      true,
    );
    assert.ok(own.ok);
    assert.equal(own.secret.caCertificates, ca.certPem);
    const separate = read(
      secret({ 'tls.crt': server.certPem, 'tls.key': server.keyPem }),
      true,
      secret({ 'ca.crt': ca.certPem }, 'Opaque'),
    );
    assert.ok(separate.ok);
    assert.equal(separate.secret.caCertificates, ca.certPem);
  });

  it('MUTUAL without a CA anywhere is refused, naming both places', () => {
    const result = read(secret({ 'tls.crt': server.certPem, 'tls.key': server.keyPem }), true);
    assert.ok(!result.ok);
    assert.equal(result.key, 'ca.crt');
    assert.match(result.error, /Secret edge\/shop-cert-cacert has none either/);
  });

  it('redacts private keys and leaves the rest', () => {
    const config = { listeners: [], secrets: [{ name: 'a', certificateChain: 'CHAIN', privateKey: 'KEY' }] };
    const redacted = redactSecrets(config);
    assert.equal(redacted.secrets[0]!.privateKey, '[redacted]');
    assert.equal(redacted.secrets[0]!.certificateChain, 'CHAIN');
    assert.equal(config.secrets[0]!.privateKey, 'KEY', 'the original is untouched');
  });
});
