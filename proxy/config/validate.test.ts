import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inboundConfig } from '../../test/helpers/proxy.js';
import { validateProxyConfig } from './compile.js';

// The validator is proxy-config.schema.json compiled ahead of time (npm run generate); these run
// the generated module itself, so a generation that cannot load or that drifts from Ajv's
// run-time semantics fails here.
describe('validateProxyConfig (the generated validator)', () => {
  it('accepts a valid configuration and returns it', () => {
    const config = inboundConfig(8080, 'STRICT');
    assert.equal(validateProxyConfig(config), config);
  });

  it('names the field of a wrong type', () => {
    const config = {
      ...inboundConfig(8080, 'STRICT'),
      listeners: [{ name: 'l', direction: 'inbound', port: 'x' }],
    };
    assert.throws(() => validateProxyConfig(config), /listeners\[0\]/);
  });

  it('refuses an unknown top-level field and a wrong schema version', () => {
    assert.throws(
      () => validateProxyConfig({ ...inboundConfig(8080, 'STRICT'), surprise: true }),
      /additional/,
    );
    assert.throws(() => validateProxyConfig({ ...inboundConfig(8080, 'STRICT'), version: 'v0' }), /version/);
  });

  it('takes a trust bundle of one or more PEM strings, and refuses an empty one', () => {
    const withBundle = (trustBundle: unknown): unknown => {
      const config = inboundConfig(8080, 'STRICT');
      return { ...config, security: { ...config.security, trustBundle } };
    };
    assert.doesNotThrow(() => validateProxyConfig(withBundle(['-----BEGIN CERTIFICATE-----'])));
    assert.throws(() => validateProxyConfig(withBundle([])), /security\.trustBundle/);
    assert.throws(() => validateProxyConfig(withBundle([''])), /security\.trustBundle\[0\]/);
  });

  it('refuses what is not an object', () => {
    assert.throws(() => validateProxyConfig('listeners: []'), /\(root\)/);
  });
});
