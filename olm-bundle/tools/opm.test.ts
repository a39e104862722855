import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { channelBlob } from './opm.js';

describe('channelBlob', () => {
  it('makes each rendered bundle of the package an entry of the channel', () => {
    const blob: unknown = parse(
      channelBlob('weft', 'candidate', [
        { schema: 'olm.bundle', package: 'weft', name: 'weft.v0.1.0' },
        { schema: 'olm.package', name: 'weft' },
      ]),
    );
    assert.deepEqual(blob, {
      schema: 'olm.channel',
      package: 'weft',
      name: 'candidate',
      entries: [{ name: 'weft.v0.1.0' }],
    });
  });
  it('refuses a render without a bundle of the package', () => {
    assert.throws(() =>
      channelBlob('weft', 'candidate', [{ schema: 'olm.bundle', package: 'other', name: 'x' }]),
    );
  });
});
