import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesSelector } from '../controllers/runtime/label-selector.js';
import type { LabelSelector } from '../crds/generated/types/mesh.js';
import { injectionNamespaceSelectors } from './injection-selectors.js';

const selected = (
  labels: Record<string, string>,
  meshSelector: LabelSelector = { matchLabels: { 'weft.dev/inject': 'enabled' } },
): boolean => injectionNamespaceSelectors(meshSelector).some((s) => matchesSelector(labels, s));

describe('injectionNamespaceSelectors', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['weft.dev/inject=enabled', { 'weft.dev/inject': 'enabled' }, true],
    ['weft.dev/rev=default', { 'weft.dev/rev': 'default' }, true],
    ['both labels', { 'weft.dev/inject': 'enabled', 'weft.dev/rev': 'default' }, true],
    ['another revision', { 'weft.dev/rev': 'canary' }, false],
    [
      'weft.dev/inject=disabled beside the revision',
      { 'weft.dev/inject': 'disabled', 'weft.dev/rev': 'default' },
      false,
    ],
    ['no label', { team: 'payments' }, false],
  ];
  for (const [name, labels, want] of cases) {
    it(`${want ? 'selects' : 'does not select'} a namespace with ${name}`, () => {
      assert.equal(selected(labels), want);
    });
  }

  it("keeps the Mesh's own selector first, as it is", () => {
    const mesh = { matchLabels: { mesh: 'on' } };
    assert.deepEqual(injectionNamespaceSelectors(mesh)[0], mesh);
    assert.equal(selected({ mesh: 'on' }, mesh), true);
    assert.equal(selected({ 'weft.dev/inject': 'enabled' }, mesh), false);
  });
});
