import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeaderRecord } from './header-operations.js';
import { applyHeaderOperations } from './header-operations.js';

describe('applyHeaderOperations', () => {
  it('does nothing without operations', () => {
    const headers: HeaderRecord = { a: '1' };
    applyHeaderOperations(headers, undefined);
    assert.deepEqual(headers, { a: '1' });
  });

  it('set overwrites, add appends as an array, remove deletes; names compared lowercase', () => {
    const headers: HeaderRecord = { 'x-set': 'old', 'x-add': 'first', 'x-gone': 'bye', 'x-keep': 'k' };
    applyHeaderOperations(headers, {
      set: { 'X-Set': 'new', 'X-New': 'fresh' },
      add: { 'X-Add': 'second', 'X-Absent': 'only' },
      remove: ['X-Gone', 'x-missing'],
    });
    assert.deepEqual(headers, {
      'x-set': 'new',
      'x-new': 'fresh',
      'x-add': ['first', 'second'],
      'x-absent': 'only',
      'x-keep': 'k',
    });
  });

  it('add extends an existing array without mutating it', () => {
    const cookies = ['a=1'];
    const headers: HeaderRecord = { 'set-cookie': cookies };
    applyHeaderOperations(headers, { add: { 'set-cookie': 'b=2' } });
    assert.deepEqual(headers['set-cookie'], ['a=1', 'b=2']);
    assert.deepEqual(cookies, ['a=1']);
  });

  it('runs remove, then set, then add, as Envoy does', () => {
    const headers: HeaderRecord = { 'x-h': 'orig' };
    applyHeaderOperations(headers, { remove: ['x-h'], set: { 'x-h': 'set' }, add: { 'x-h': 'added' } });
    assert.deepEqual(headers, { 'x-h': ['set', 'added'] });
  });

  it('replaces a header stored under a mixed-case name', () => {
    const headers: HeaderRecord = { 'Content-Type': 'text/plain', 'X-Old': 'v' };
    applyHeaderOperations(headers, { set: { 'content-type': 'application/json' }, remove: ['x-old'] });
    assert.deepEqual(headers, { 'content-type': 'application/json' });
  });
});
