import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue, backoffDelay } from './workqueue.js';

describe('WorkQueue', () => {
  it('deduplicates a key added several times while it waits', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('never hands a key being processed to a second worker, and re-queues it on done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a'); // an event arrives while 'a' is reconciled
    assert.equal(q.length, 0, 'the key must wait until the first worker is done');
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    assert.equal(second, undefined);
    q.done(first!);
    await Promise.resolve();
    assert.equal(second, 'a');
  });

  it('hands a key straight to a waiting worker', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.add('x');
    assert.equal(await next, 'x');
  });

  it('backs off exponentially per key from 5 ms, capped, and forget resets it', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => backoffDelay(n)),
      [5, 10, 20, 40],
    );
    assert.equal(backoffDelay(60), 1_000_000);
    const q = new WorkQueue();
    assert.equal(q.addRateLimited('k'), 5);
    assert.equal(q.addRateLimited('k'), 10);
    assert.equal(q.addRateLimited('other'), 5);
    q.forget('k');
    assert.equal(q.failuresOf('k'), 0);
    assert.equal(q.addRateLimited('k'), 5);
    q.shutDown();
  });

  it('adds a delayed key after its delay, keeping the earliest of two delays', async () => {
    const q = new WorkQueue();
    q.addAfter('late', 60_000);
    q.addAfter('late', 1);
    const started = Date.now();
    assert.equal(await q.get(), 'late');
    assert.ok(Date.now() - started < 30_000);
    q.shutDown();
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.shutDown();
    assert.equal(await next, undefined);
  });
});
