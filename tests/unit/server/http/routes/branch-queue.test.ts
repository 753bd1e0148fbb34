import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { branchQueue } from '../../../../../server/http/routes/branch-queue.js';

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('branchQueue', () => {
  it('runs the jobs of one branch one at a time, whatever name the branch is given (main and refs/heads/main raced each other into NFTSYNC_ERR_ELEMENTS_CONFLICT)', async () => {
    const inTurn = branchQueue();
    const events: string[] = [];
    const gate = deferred();
    const a = inTurn('main', async () => {
      events.push('a starts');
      await gate.promise;
      events.push('a ends');
    });
    const b = inTurn('refs/heads/main', async () => {
      events.push('b starts');
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['a starts'], 'b waits for a');
    gate.resolve();
    await Promise.all([a, b]);
    assert.deepEqual(events, ['a starts', 'a ends', 'b starts']);
  });

  it('runs the next job after one that failed, and other branches at once', async () => {
    const inTurn = branchQueue();
    const gate = deferred();
    const events: string[] = [];
    const a = inTurn('main', async () => {
      await gate.promise;
      throw new Error('refused');
    });
    const other = inTurn('dev', async () => events.push('dev'));
    const b = inTurn('main', async () => events.push('b'));
    await other;
    assert.deepEqual(events, ['dev']);
    gate.resolve();
    await assert.rejects(a, /refused/);
    await b;
    assert.deepEqual(events, ['dev', 'b']);
  });
});
