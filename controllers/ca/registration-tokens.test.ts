import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  identityForToken,
  isRegistrationToken,
  newRegistrationToken,
  registrationKey,
  TOKEN_PREFIX,
} from './registration-tokens.js';

describe('registration tokens', () => {
  const vm = newRegistrationToken();
  const other = newRegistrationToken();
  const entries = {
    [registrationKey({ namespace: 'shop', serviceAccount: 'reviews' })]: vm,
    [registrationKey({ namespace: 'shop', serviceAccount: 'legacy.batch' })]: `${other}\n`,
  };

  it('are prefixed, random and recognisable', () => {
    assert.ok(vm.startsWith(TOKEN_PREFIX) && isRegistrationToken(vm));
    assert.notEqual(vm, other);
    assert.ok(vm.length > TOKEN_PREFIX.length + 40, 'at least 256 bits');
    assert.equal(isRegistrationToken('eyJhbGciOiJSUzI1NiJ9.e30.sig'), false, 'a JWT is not one');
  });

  it('resolve to the identity of their key; a ServiceAccount name may contain dots', () => {
    assert.deepEqual(identityForToken(vm, entries), { namespace: 'shop', serviceAccount: 'reviews' });
    assert.deepEqual(identityForToken(other, entries), { namespace: 'shop', serviceAccount: 'legacy.batch' });
  });

  it('match nothing when unknown, truncated or extended', () => {
    assert.equal(identityForToken(newRegistrationToken(), entries), undefined);
    assert.equal(identityForToken(vm.slice(0, -1), entries), undefined);
    assert.equal(identityForToken(`${vm}x`, entries), undefined);
    assert.equal(identityForToken(vm, {}), undefined);
  });

  it('ignore keys that name no identity', () => {
    assert.equal(identityForToken(vm, { noDot: vm }), undefined);
    assert.equal(identityForToken(vm, { '.reviews': vm }), undefined);
    assert.equal(identityForToken(vm, { 'shop.': vm }), undefined);
  });
});
