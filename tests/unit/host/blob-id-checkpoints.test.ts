/**
 * host/blob-id-checkpoints.ts on its own: which kept states start() hands out for a resume (the
 * last at or before `same`, none for another length, algorithm or text, or `same` under one
 * CHECKPOINT), and which texts keep() holds (KEPT, the most recent first, one entry per blob id).
 * The states are stand-ins (fresh Hash objects, compared by identity): the class never looks
 * into them, and host/blob-id-hasher.test.ts checks what they hold.
 */
import assert from 'node:assert/strict';
import { createHash, type Hash } from 'node:crypto';
import { describe, it } from 'node:test';
import { BlobIdCheckpoints, CHECKPOINT, KEPT } from '../../../host/blob-id-checkpoints.js';

/** `n` distinct stand-in states. */
const statesOf = (n: number): Hash[] => Array.from({ length: n }, () => createHash('sha1'));
/** The length of a text with three checkpoints and some bytes after the last. */
const LENGTH = 3 * CHECKPOINT + 1234;

describe('host/blob-id-checkpoints.ts', { timeout: 10_000 }, () => {
  it('start(): the last kept state at or before `same`, with the states before it (the same objects, not copies)', () => {
    const checkpoints = new BlobIdCheckpoints();
    const states = statesOf(3);
    checkpoints.keep('a', LENGTH, 'sha1', states);
    const cases: [same: number, k: number][] = [
      [CHECKPOINT, 1],
      [CHECKPOINT + 1, 1],
      [2 * CHECKPOINT - 1, 1],
      [2 * CHECKPOINT, 2],
      [2 * CHECKPOINT + 5, 2],
      [3 * CHECKPOINT, 3],
      [LENGTH, 3],
      // More than the text's states reach: the last one kept.
      [10 * CHECKPOINT, 3],
    ];
    for (const [same, k] of cases) {
      const start = checkpoints.start({ blob: 'a', same }, LENGTH, 'sha1');
      assert.ok(start !== undefined, `same ${same}`);
      assert.equal(start.at, k * CHECKPOINT, `same ${same}`);
      assert.equal(start.states.length, k, `same ${same}`);
      start.states.forEach((s, i) => assert.equal(s, states[i], `same ${same}: state ${i} is the kept object`));
      assert.equal(start.states.at(-1), states[k - 1]);
    }
  });

  it('start(): none without a resume, under one CHECKPOINT, or with a `same` that is not a number', () => {
    const checkpoints = new BlobIdCheckpoints();
    checkpoints.keep('a', LENGTH, 'sha1', statesOf(3));
    assert.equal(checkpoints.start(undefined, LENGTH, 'sha1'), undefined);
    for (const same of [0, 1, CHECKPOINT - 1, -1, -CHECKPOINT, Number.NaN]) {
      assert.equal(checkpoints.start({ blob: 'a', same }, LENGTH, 'sha1'), undefined, `same ${same}`);
    }
    // A text kept with no states (small) resumes nothing either.
    checkpoints.keep('small', LENGTH, 'sha1', []);
    assert.equal(checkpoints.start({ blob: 'small', same: LENGTH }, LENGTH, 'sha1'), undefined);
  });

  it('start(): none for another length, another algorithm or an unknown blob', () => {
    const checkpoints = new BlobIdCheckpoints();
    checkpoints.keep('a', LENGTH, 'sha1', statesOf(3));
    checkpoints.keep('b', LENGTH, 'sha256', statesOf(3));
    const same = 2 * CHECKPOINT;
    assert.ok(checkpoints.start({ blob: 'a', same }, LENGTH, 'sha1'), 'the control: a resumes');
    assert.ok(checkpoints.start({ blob: 'b', same }, LENGTH, 'sha256'), 'the control: b resumes');
    assert.equal(checkpoints.start({ blob: 'a', same }, LENGTH + 1, 'sha1'), undefined, 'longer');
    assert.equal(checkpoints.start({ blob: 'a', same }, LENGTH - 1, 'sha1'), undefined, 'shorter');
    assert.equal(checkpoints.start({ blob: 'a', same }, LENGTH, 'sha256'), undefined, 'a is sha1');
    assert.equal(checkpoints.start({ blob: 'b', same }, LENGTH, 'sha1'), undefined, 'b is sha256');
    assert.equal(checkpoints.start({ blob: 'c', same }, LENGTH, 'sha1'), undefined, 'unknown');
    assert.equal(new BlobIdCheckpoints().start({ blob: 'a', same }, LENGTH, 'sha1'), undefined, 'nothing kept');
  });

  it(`keep(): the last KEPT (${KEPT}) texts, the oldest going first`, () => {
    assert.ok(KEPT >= 2);
    const checkpoints = new BlobIdCheckpoints();
    const kept = (blob: string): boolean => checkpoints.start({ blob, same: LENGTH }, LENGTH, 'sha1') !== undefined;
    const blobs = Array.from({ length: KEPT + 2 }, (_, i) => `blob${i}`);
    for (const [i, blob] of blobs.entries()) {
      checkpoints.keep(blob, LENGTH, 'sha1', statesOf(3));
      // After keeping blobs[0..i]: the last KEPT of them, no more.
      assert.deepEqual(blobs.map(kept), blobs.map((_, j) => j <= i && j > i - KEPT), `after ${blob}`);
    }
  });

  it('keep(): an entry of the same blob is replaced (its length, algorithm and states), takes one place and becomes the most recent', () => {
    const checkpoints = new BlobIdCheckpoints();
    const kept = (blob: string, length = LENGTH, algorithm: 'sha1' | 'sha256' = 'sha1'): Hash | undefined => checkpoints.start({ blob, same: LENGTH }, length, algorithm)?.states.at(-1);
    const blobs = Array.from({ length: KEPT }, (_, i) => `blob${i}`);
    for (const blob of blobs) checkpoints.keep(blob, LENGTH, 'sha1', statesOf(3));
    // The most recent kept again: its place taken over, so the oldest stays.
    const recent = statesOf(3);
    checkpoints.keep(blobs.at(-1)!, LENGTH, 'sha1', recent);
    assert.equal(kept(blobs.at(-1)!), recent[2], 'its new states');
    for (const blob of blobs) assert.ok(kept(blob) !== undefined, `${blob} still kept: one entry per blob`);
    // The oldest kept again: replaced, not added (the others stay), and now the most recent.
    const oldest = blobs[0]!;
    const again = statesOf(2);
    checkpoints.keep(oldest, LENGTH, 'sha1', again);
    assert.equal(kept(oldest), again[1], 'its new states');
    for (const blob of blobs) assert.ok(kept(blob) !== undefined, `${blob} still kept: one entry per blob`);
    // One more text: the oldest now is blobs[1], not the one just kept again.
    checkpoints.keep('new', LENGTH, 'sha1', statesOf(3));
    assert.ok(kept(oldest) !== undefined, 'the entry kept again is recent');
    assert.equal(kept(blobs[1]!), undefined, 'the oldest went');
    for (const blob of blobs.slice(2)) assert.ok(kept(blob) !== undefined, `${blob} still kept`);
    assert.ok(kept('new') !== undefined);

    // Kept again with another length and algorithm: the old ones resume nothing any more.
    const other = statesOf(1);
    checkpoints.keep('new', LENGTH + 7, 'sha256', other);
    assert.equal(kept('new'), undefined, 'not under the old length and algorithm');
    assert.equal(kept('new', LENGTH + 7, 'sha256'), other[0]);
  });
});
