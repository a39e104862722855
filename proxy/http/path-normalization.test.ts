import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PathNormalization } from '../config/generated/proxy-config.js';
import { normalizePath } from './path-normalization.js';

type Row = readonly [input: string, expected: string, why: string];

function check(mode: PathNormalization, rows: readonly Row[]): void {
  for (const [input, expected, why] of rows) {
    assert.deepEqual(normalizePath(input, mode), { path: expected }, `${mode} ${input}: ${why}`);
  }
}

function refused(mode: PathNormalization, rows: readonly (readonly [string, RegExp])[]): void {
  for (const [input, message] of rows) {
    const result = normalizePath(input, mode);
    assert.ok('error' in result, `${mode} ${input} must be refused, got ${JSON.stringify(result)}`);
    assert.match(result.error, message, input);
  }
}

describe('normalizePath BASE (Istio default, Envoy normalize_path)', () => {
  it('resolves dot segments so that /admin cannot be reached under another spelling', () => {
    check('BASE', [
      ['/public/../admin', '/admin', 'parent segment'],
      ['/./admin', '/admin', 'current segment'],
      ['/public/./data/abc/../xyz', '/public/data/xyz', "Istio's documented example"],
      ['/a/b/..', '/a/', 'a trailing .. keeps the slash (RFC 3986 §5.2.4)'],
      ['/a/.', '/a/', 'a trailing . keeps the slash'],
      ['/../admin', '/admin', '.. above the root stays at the root, as in Envoy'],
      ['/../../..', '/', 'only the root is left'],
      ['/a//../b', '/a/b', '.. removes the empty segment between two slashes'],
      ['/a/..b/.c', '/a/..b/.c', 'dots inside a segment are a name'],
      ['/admin/...', '/admin/...', 'three dots are a name'],
    ]);
  });

  it('decodes percent-encoded unreserved characters, once', () => {
    check('BASE', [
      ['/%61dmin', '/admin', 'lower-case letter'],
      ['/%41DMIN', '/ADMIN', 'upper-case letter'],
      ['/%2e%2e/admin', '/admin', 'encoded dots are dots, then resolved'],
      ['/public/%2E%2E/admin', '/admin', 'upper-case escapes too'],
      ['/a%2db%5fc%7ed%30', '/a-b_c~d0', 'dash, underscore, tilde and digits'],
      ['/%2561dmin', '/%2561dmin', 'no double decoding: %25 stays escaped'],
      ['/a%20b', '/a%20b', 'a reserved or unsafe escape is kept as sent'],
      ['/a%3Fb', '/a%3Fb', 'an encoded ? is not a query'],
    ]);
  });

  it('turns backslashes into slashes and keeps escaped slashes (KEEP_UNCHANGED)', () => {
    check('BASE', [
      ['/some\\data', '/some/data', "Istio's backslash example"],
      ['\\admin', '/admin', 'a leading backslash'],
      ['/public\\..\\admin', '/admin', 'backslash segments resolve like slashes'],
      ['/admin%2Fx', '/admin%2Fx', 'an escaped slash is not a separator under BASE'],
      ['/a%5cb', '/a%5cb', 'nor an escaped backslash'],
      ['//admin', '//admin', 'BASE does not merge slashes'],
    ]);
  });

  it('keeps the query as sent, and normalises only the path', () => {
    check('BASE', [
      ['/a/../b?x=/../y&z=%61', '/b?x=/../y&z=%61', 'query untouched'],
      ['/?', '/?', 'empty query'],
      ['/', '/', 'root'],
      ['/plain/path.html', '/plain/path.html', 'nothing to do'],
    ]);
  });

  it('escapes characters a URL must not carry literally, so both spellings are one path', () => {
    check('BASE', [
      ['/a"b', '/a%22b', 'double quote'],
      ['/a{b}|c^d`e<f>', '/a%7Bb%7D%7Cc%5Ed%60e%3Cf%3E', 'unsafe characters'],
      ['/caf\u00e9', '/caf%E9', 'a byte above 0x7E (HTTP/1 headers are Latin-1 strings)'],
    ]);
  });

  it('turns an absolute-form target into its path, and leaves * alone', () => {
    check('BASE', [
      ['http://svc.default:8080/public/../admin?q', '/admin?q', 'absolute-form'],
      ['https://svc', '/', 'absolute-form without a path'],
      ['*', '*', 'asterisk-form (OPTIONS *)'],
    ]);
  });

  it('refuses what cannot be made into one path (a 400)', () => {
    refused('BASE', [
      ['/admin%00', /%00/],
      ['/a%zz', /invalid percent-encoding/],
      ['/a%2', /invalid percent-encoding/],
      ['/a%', /invalid percent-encoding/],
      ['/%%32%65%%32%65/admin', /invalid percent-encoding/],
      ['/admin#frag', /fragment/],
      ['/a\u0100', /not a byte/],
      ['admin', /not a path/],
      ['mailto:x', /not a path/],
    ]);
  });
});

describe('normalizePath MERGE_SLASHES', () => {
  it('merges repeated slashes after BASE', () => {
    check('MERGE_SLASHES', [
      ['//admin', '/admin', 'leading double slash'],
      ['/some//data///abc', '/some/data/abc', "Istio's example"],
      ['/a//b/', '/a/b/', 'a trailing slash stays'],
      ['/public/..//admin', '/admin', 'dots resolved, then slashes merged'],
      ['\\\\admin', '/admin', 'backslashes become slashes first'],
      ['/a%2F%2Fb', '/a%2F%2Fb', 'escaped slashes are still not separators'],
      ['/a//b?x=//y', '/a/b?x=//y', 'the query is not merged'],
    ]);
  });
});

describe('normalizePath DECODE_AND_MERGE_SLASHES', () => {
  it('decodes %2F and %5C first, then normalises and merges', () => {
    check('DECODE_AND_MERGE_SLASHES', [
      ['/a%2fb', '/a/b', "Istio's example"],
      ['/some%2fdata/%61%62%63', '/some/data/abc', "Istio's percent-encoding example"],
      ['/public%2F..%2Fadmin', '/admin', 'encoded separators around ..'],
      ['/public%5C..%5Cadmin', '/admin', 'encoded backslashes too'],
      ['/%2F%2Fadmin', '/admin', 'encoded slashes merged'],
    ]);
  });
});

describe('normalizePath NONE', () => {
  it('forwards the target as received, except %00 in the path', () => {
    check('NONE', [
      ['/public/../admin', '/public/../admin', 'no normalisation'],
      ['/%61dmin//x', '/%61dmin//x', 'no decoding, no merging'],
      ['/a?x=%00', '/a?x=%00', '%00 in the query is not the path'],
    ]);
    refused('NONE', [['/admin%00', /%00/]]);
  });
});
