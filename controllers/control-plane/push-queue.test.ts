import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushQueue, type PushKind } from './push-queue.js';

/** A queue whose turns run only when the test says, recording what each turn pushed. */
function harness(batch: number): {
  queue: PushQueue;
  turns: [string, PushKind, number][][];
  runTurn(): boolean;
} {
  const turns: [string, PushKind, number][][] = [];
  let next: (() => void) | undefined;
  const queue = new PushQueue(
    batch,
    (id, kind, at) => turns.at(-1)!.push([id, kind, at]),
    (run) => (next = run),
  );
  return {
    queue,
    turns,
    runTurn: () => {
      const run = next;
      next = undefined;
      if (!run) return false;
      turns.push([]);
      run();
      return true;
    },
  };
}

describe('PushQueue', () => {
  it('pushes a batch per turn, in the order proxies were queued', () => {
    const h = harness(2);
    h.queue.enqueue(['a', 'b', 'c', 'd', 'e'], 'full', 10);
    while (h.runTurn());
    assert.deepEqual(
      h.turns.map((t) => t.map(([id]) => id)),
      [['a', 'b'], ['c', 'd'], ['e']],
    );
    assert.equal(h.queue.size, 0);
  });

  it('pushes a proxy queued twice once: full absorbs endpoints, and the oldest change time stays', () => {
    const h = harness(10);
    h.queue.enqueue(['a', 'b'], 'endpoints', 20);
    h.queue.enqueue(['a'], 'full', 30);
    h.queue.enqueue(['b'], 'endpoints', 5);
    assert.equal(h.queue.size, 2);
    h.runTurn();
    assert.deepEqual(h.turns, [
      [
        ['a', 'full', 20],
        ['b', 'endpoints', 5],
      ],
    ]);
    assert.equal(h.runTurn(), false, 'nothing left, no turn scheduled');
  });

  it('a proxy queued again after its push is pushed again', () => {
    const h = harness(1);
    h.queue.enqueue(['a'], 'endpoints', 1);
    h.runTurn();
    h.queue.enqueue(['a'], 'endpoints', 2);
    h.runTurn();
    assert.deepEqual(h.turns, [[['a', 'endpoints', 1]], [['a', 'endpoints', 2]]]);
  });

  it('forgets a removed proxy and a cleared queue', () => {
    const h = harness(5);
    h.queue.enqueue(['a', 'b', 'c'], 'full', 1);
    h.queue.remove('b');
    h.runTurn();
    assert.deepEqual(
      h.turns[0]!.map(([id]) => id),
      ['a', 'c'],
    );
    h.queue.enqueue(['d'], 'full', 2);
    h.queue.clear();
    h.runTurn();
    assert.deepEqual(h.turns[1], []);
  });

  it('refuses a batch that is not a positive integer', () => {
    assert.throws(() => new PushQueue(0, () => undefined), /positive integer/);
  });

  it('yields to the event loop between batches (real setImmediate)', async () => {
    const pushed: string[] = [];
    const queue = new PushQueue(1, (id) => pushed.push(id));
    queue.enqueue(['a', 'b', 'c'], 'full', 0);
    assert.deepEqual(pushed, [], 'nothing pushed synchronously');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(pushed, ['a']);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(pushed, ['a', 'b', 'c']);
  });
});
