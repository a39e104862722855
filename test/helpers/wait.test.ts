import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitUntil } from './wait.js';

describe('waitUntil', () => {
  it('returns the state of the first check that is done', async () => {
    let n = 0;
    const state = await waitUntil('n to reach 3', () => ({ done: ++n >= 3, state: n }), { intervalMs: 1 });
    assert.equal(state, 3);
  });

  it('times out naming what was awaited and the last state seen', async () => {
    await assert.rejects(
      waitUntil('the pod to be Ready', () => ({ done: false, state: { phase: 'Pending' } }), {
        timeoutMs: 20,
        intervalMs: 5,
      }),
      /waiting for the pod to be Ready\nlast state seen: \{\n {2}"phase": "Pending"\n\}/,
    );
  });

  it('retries a check that throws, and reports its error if it never succeeds', async () => {
    await assert.rejects(
      waitUntil(
        'the API',
        () => {
          throw new Error('connect ECONNREFUSED');
        },
        { timeoutMs: 20, intervalMs: 5 },
      ),
      /check threw: connect ECONNREFUSED/,
    );
  });
});
