import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesSelector } from './label-selector.js';

const labels = { env: 'prod', team: 'payments' };

describe('matchesSelector', () => {
  it('matches everything with an empty selector, even objects without labels', () => {
    assert.equal(matchesSelector(labels, {}), true);
    assert.equal(matchesSelector(undefined, {}), true);
    assert.equal(matchesSelector({}, { matchLabels: {}, matchExpressions: [] }), true);
  });

  it('requires every matchLabels entry to be present with the same value', () => {
    assert.equal(matchesSelector(labels, { matchLabels: { env: 'prod' } }), true);
    assert.equal(matchesSelector(labels, { matchLabels: { env: 'prod', team: 'payments' } }), true);
    assert.equal(matchesSelector(labels, { matchLabels: { env: 'staging' } }), false);
    assert.equal(matchesSelector(labels, { matchLabels: { env: 'prod', tier: 'web' } }), false);
    assert.equal(matchesSelector(undefined, { matchLabels: { env: 'prod' } }), false);
  });

  it('In: the key must be present with one of the values', () => {
    const sel = { matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['prod', 'staging'] }] };
    assert.equal(matchesSelector({ env: 'prod' }, sel), true);
    assert.equal(matchesSelector({ env: 'staging' }, sel), true);
    assert.equal(matchesSelector({ env: 'dev' }, sel), false);
    assert.equal(matchesSelector({ team: 'payments' }, sel), false);
  });

  it('NotIn: the key is absent or has none of the values', () => {
    const sel = { matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['prod'] }] };
    assert.equal(matchesSelector({ env: 'prod' }, sel), false);
    assert.equal(matchesSelector({ env: 'dev' }, sel), true);
    assert.equal(matchesSelector({ team: 'payments' }, sel), true);
    assert.equal(matchesSelector(undefined, sel), true);
  });

  it('Exists: the key is present, whatever its value', () => {
    const sel = { matchExpressions: [{ key: 'env', operator: 'Exists' as const }] };
    assert.equal(matchesSelector({ env: '' }, sel), true);
    assert.equal(matchesSelector({ env: 'prod' }, sel), true);
    assert.equal(matchesSelector({ team: 'payments' }, sel), false);
    assert.equal(matchesSelector(undefined, sel), false);
  });

  it('DoesNotExist: the key is absent', () => {
    const sel = { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' as const }] };
    assert.equal(matchesSelector({ env: 'prod' }, sel), false);
    assert.equal(matchesSelector({ env: '' }, sel), false);
    assert.equal(matchesSelector({ team: 'payments' }, sel), true);
    assert.equal(matchesSelector(undefined, sel), true);
  });

  it('ANDs matchLabels and every expression', () => {
    const sel = {
      matchLabels: { team: 'payments' },
      matchExpressions: [
        { key: 'env', operator: 'In' as const, values: ['prod'] },
        { key: 'legacy', operator: 'DoesNotExist' as const },
      ],
    };
    assert.equal(matchesSelector(labels, sel), true);
    assert.equal(matchesSelector({ ...labels, legacy: 'yes' }, sel), false);
    assert.equal(matchesSelector({ ...labels, team: 'search' }, sel), false);
    assert.equal(matchesSelector({ ...labels, env: 'dev' }, sel), false);
  });
});
