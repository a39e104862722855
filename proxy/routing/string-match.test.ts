import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../config/config-error.js';
import { compileRegex, compileStringMatcher } from './string-match.js';

const matcher = (m: Parameters<typeof compileStringMatcher>[0]) => compileStringMatcher(m, 'm');

describe('compileStringMatcher', () => {
  it('exact matches the whole value, case-sensitively unless ignoreCase', () => {
    assert.equal(matcher({ exact: '/api' })('/api'), true);
    assert.equal(matcher({ exact: '/api' })('/api/'), false);
    assert.equal(matcher({ exact: '/api' })('/API'), false);
    assert.equal(matcher({ exact: '/Api', ignoreCase: true })('/aPI'), true);
    assert.equal(matcher({ exact: '/Api', ignoreCase: true })('/aPIs'), false);
  });

  it('prefix matches the start, case-sensitively unless ignoreCase', () => {
    assert.equal(matcher({ prefix: '/api' })('/api/v1'), true);
    assert.equal(matcher({ prefix: '/api' })('/ap'), false);
    assert.equal(matcher({ prefix: '/api' })('/API/v1'), false);
    assert.equal(matcher({ prefix: '/API', ignoreCase: true })('/api/v1'), true);
    assert.equal(matcher({ prefix: '/API', ignoreCase: true })('/ap'), false);
    assert.equal(matcher({ prefix: '' })('anything'), true);
  });

  it('regex must match the whole value, not a part of it', () => {
    const re = matcher({ regex: '/v[0-9]+' });
    assert.equal(re('/v12'), true);
    assert.equal(re('/v12/users'), false);
    assert.equal(re('/x/v12'), false);
    // Alternation is anchored as a whole, not just its first and last branch.
    const alt = matcher({ regex: 'GET|POST' });
    assert.equal(alt('POST'), true);
    assert.equal(alt('GETX'), false);
    assert.equal(alt('XPOST'), false);
  });

  it('ignoreCase does not apply to regex, but RE2 (?i) does', () => {
    assert.equal(matcher({ regex: '/abc', ignoreCase: true })('/ABC'), false);
    assert.equal(matcher({ regex: '(?i)/abc' })('/ABC'), true);
  });

  it('accepts RE2 named groups', () => {
    assert.equal(matcher({ regex: '/(?P<id>[0-9]+)' })('/42'), true);
  });

  it('an empty matcher accepts any value', () => {
    assert.equal(matcher({})('x'), true);
    assert.equal(matcher({})(''), true);
  });

  it('rejects a bad regex with a ConfigError naming the field', () => {
    assert.throws(
      () => compileStringMatcher({ regex: '([a-z' }, 'virtualHosts[0].routes[0].matches[0].uri'),
      (err: unknown) =>
        err instanceof ConfigError && err.path === 'virtualHosts[0].routes[0].matches[0].uri.regex',
    );
    // Balanced overall, but would escape the anchoring group if not checked alone.
    assert.throws(() => matcher({ regex: 'a)|(b' }), ConfigError);
    assert.throws(() => matcher({ regex: '(?U)a+' }), ConfigError);
  });

  it('rejects a matcher that sets more than one of exact, prefix and regex', () => {
    assert.throws(
      () => matcher({ exact: '/a', prefix: '/a' }),
      (err: unknown) => err instanceof ConfigError && err.path === 'm',
    );
  });
});

describe('compileRegex', () => {
  it('leaves an unanchored, global regex for substitution', () => {
    const re = compileRegex('one', 'p', { global: true });
    assert.equal('/one/two/one'.replace(re, '1'), '/1/two/1');
  });
});
