import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BodyRecorder } from './body-recorder.js';

describe('BodyRecorder', () => {
  it('replays the whole body only once it has ended', () => {
    const r = new BodyRecorder(16);
    r.add(Buffer.from('hello '));
    assert.equal(r.replay(), undefined, 'a body still arriving cannot be replayed');
    r.add(Buffer.from('world'));
    r.end();
    assert.equal(r.replay()?.toString(), 'hello world');
  });

  it('gives up on a body larger than the limit', () => {
    const r = new BodyRecorder(8);
    r.add(Buffer.from('12345'));
    r.add(Buffer.from('6789'));
    r.add(Buffer.from('0'));
    r.end();
    assert.equal(r.replay(), undefined);
  });

  it('replays an empty body that ended', () => {
    const r = new BodyRecorder(8);
    r.end();
    assert.equal(r.replay()?.length, 0);
  });
});
