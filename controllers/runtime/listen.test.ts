import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBindAddress } from './listen.js';

describe('parseBindAddress', () => {
  it('reads host:port, and :port as every interface', () => {
    assert.deepEqual(parseBindAddress('127.0.0.1:15014'), { host: '127.0.0.1', port: 15014 });
    assert.deepEqual(parseBindAddress(':8080'), { host: '0.0.0.0', port: 8080 });
  });

  it('refuses an address without a valid port, saying what to write', () => {
    assert.throws(
      () => parseBindAddress('localhost'),
      /invalid bind address "localhost": expected host:port or :port/,
    );
    assert.throws(() => parseBindAddress('127.0.0.1:99999'), /invalid bind address/);
  });
});
