import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../config/config-error.js';
import { compileCors } from './cors.js';

const cors = compileCors({
  allowOrigins: [{ exact: 'https://app.example.com' }, { regex: 'https://.*\\.example\\.org' }],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['content-type', 'x-token'],
  exposeHeaders: ['x-request-id'],
  maxAgeSeconds: 86400,
  allowCredentials: true,
});

describe('compileCors', () => {
  it('answers a preflight from an allowed origin, echoing the origin', () => {
    assert.deepEqual(cors.preflight('https://app.example.com', 'POST'), {
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'content-type,x-token',
      'access-control-max-age': '86400',
    });
    assert.equal(
      cors.preflight('https://a.example.org', 'GET')?.['access-control-allow-origin'],
      'https://a.example.org',
    );
  });

  it('does not answer a preflight from a denied origin, or a request that is not a preflight', () => {
    assert.equal(cors.preflight('https://evil.example', 'GET'), undefined);
    assert.equal(cors.preflight('https://app.example.com.evil', 'GET'), undefined);
    assert.equal(cors.preflight(undefined, 'GET'), undefined);
    assert.equal(cors.preflight('https://app.example.com', undefined), undefined);
  });

  it('adds origin, credentials and expose headers to actual responses for allowed origins only', () => {
    assert.deepEqual(cors.responseHeaders('https://app.example.com'), {
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id',
    });
    assert.equal(cors.responseHeaders('https://evil.example'), undefined);
    assert.equal(cors.responseHeaders(undefined), undefined);
  });

  it('allows every origin when a matcher accepts *, and none when no origins are listed', () => {
    const any = compileCors({ allowOrigins: [{ exact: '*' }] });
    assert.deepEqual(any.responseHeaders('https://x.test'), {
      'access-control-allow-origin': 'https://x.test',
    });
    assert.equal(compileCors({ allowMethods: ['GET'] }).preflight('https://x.test', 'GET'), undefined);
  });

  it('rejects a bad origin regex, naming it', () => {
    assert.throws(
      () => compileCors({ allowOrigins: [{ exact: 'a' }, { regex: '(' }] }, 'virtualHosts[0].routes[1].cors'),
      (err: unknown) =>
        err instanceof ConfigError && err.path === 'virtualHosts[0].routes[1].cors.allowOrigins[1].regex',
    );
  });
});
