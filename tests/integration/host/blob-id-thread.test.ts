import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { BlobIdThread } from '../../../host/blob-id-thread.js';
import { CHECKPOINT, KEPT } from '../../../host/blob-id-checkpoints.js';
import { sharedBuffer } from '../../../shared/bytes/spare-buffer.js';
import { changedFrom, floorCheckpoint, randomText } from '../../helpers/resume-texts.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';
import { joinLayout, joinPieces } from '../../../shared/bytes/join-pieces.js';

describe('BlobIdThread', () => {
  it("computes git's blob id of shared bytes in the worker, and of other bytes here", async () => {
    const thread = new BlobIdThread();
    try {
      const text = Buffer.from('{"nftables": []}\n'.repeat(200_000));
      const shared = sharedBuffer(text.length + 10).subarray(5, 5 + text.length);
      text.copy(shared);
      const git = execFileSync('git', ['hash-object', '--stdin'], { input: text }).toString().trim();
      assert.equal(await thread.id(shared), git);
      assert.equal(await thread.id(text), git);
      assert.equal(await thread.id(shared, 'sha256'), gitBlobId(text, 'sha256'));
      // Many at once: each answer goes to its own request.
      const many = Array.from({ length: 8 }, (_, i) => {
        const b = sharedBuffer(1 << 20);
        b.fill(i);
        return b;
      });
      assert.deepEqual(await Promise.all(many.map((b) => thread.id(b))), many.map((b) => gitBlobId(b)));
    } finally {
      await thread.close();
    }
  });

  it('idOfPieces: the id of the text pieces make joined (shared ranges read in place, small pieces copied), with and without a separator; none for a small text or big pieces outside shared memory', async () => {
    const thread = new BlobIdThread();
    try {
      const big = sharedBuffer(3 << 20);
      for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 23);
      const pieces = [big.subarray(0, 1000), Buffer.from('inserted line\nand another'), big.subarray(1000, 2 << 20), Buffer.alloc(0), big.subarray(2 << 20)];
      for (const separator of [10, undefined]) {
        const joined = Buffer.concat(pieces.flatMap((p, i) => (i > 0 && separator !== undefined ? [Buffer.of(separator), p] : [p])));
        assert.equal(await thread.idOfPieces(pieces, separator), gitBlobId(joined), `separator ${separator}`);
        assert.equal(await thread.idOfPieces(pieces, separator, 'sha256'), gitBlobId(joined, 'sha256'));
      }
      assert.equal(thread.idOfPieces([Buffer.from('small')], 10), undefined, 'under 1 MiB: hashed joined, here');
      const size = pieces.reduce((n, p) => n + p.length, pieces.length - 1);
      assert.equal(thread.idOfPieces(pieces, 10, 'sha1', size + 1), undefined, 'not the size expected: nothing hashed');
      assert.equal(await thread.idOfPieces(pieces, 10, 'sha1', size), gitBlobId(Buffer.concat(pieces.flatMap((p, i) => (i > 0 ? [Buffer.of(10), p] : [p])))));
      assert.equal(thread.idOfPieces([big, Buffer.alloc(2 << 20)], 10), undefined, 'over 1 MiB outside shared memory: not copied to the worker');
    } finally {
      await thread.close();
    }
  });

  it('joinInto: the pieces joined into shared memory as the worker hashes them, byte for byte as joinPieces lays them out; none outside shared memory or of another size; joined here when the worker is gone', async () => {
    const thread = new BlobIdThread();
    try {
      const big = sharedBuffer(3 << 20);
      for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 29);
      // Pieces of odd sizes and offsets, one of them bigger than the worker's chunk, and a small one outside shared memory.
      const pieces = [big.subarray(3, 1003), Buffer.from('inserted line\nand another'), big.subarray(1003, (2 << 20) + 7), Buffer.alloc(0), big.subarray((2 << 20) + 7)];
      for (const separator of [10, undefined]) {
        const { size, shift } = joinLayout(pieces, separator !== undefined);
        const expected = joinPieces(pieces, separator === undefined ? {} : { separator });
        const into = sharedBuffer(size, shift);
        into.fill(0);
        assert.equal(await thread.joinInto(pieces, separator, 'sha1', into), gitBlobId(expected), `separator ${separator}`);
        assert.ok(into.equals(expected), 'the text written as joinPieces writes it');
        assert.equal(into.byteOffset % 8, shift);
      }
      const { size } = joinLayout(pieces, true);
      assert.equal(thread.joinInto(pieces, 10, 'sha1', Buffer.alloc(size)), undefined, 'not in shared memory: nothing written');
      const wrong = sharedBuffer(size + 1);
      assert.equal(thread.joinInto(pieces, 10, 'sha1', wrong), undefined, 'not the size of the text: nothing written');
      assert.ok(wrong.every((b) => b === 0));
      // The worker gone before it answers: this thread joins and hashes.
      const into = sharedBuffer(size);
      const id = thread.joinInto(pieces, 10, 'sha1', into);
      await thread.close();
      assert.equal(await id, gitBlobId(joinPieces(pieces, { separator: 10 })));
      assert.ok(into.equals(joinPieces(pieces, { separator: 10 })));
    } finally {
      await thread.close();
    }
  });

  it('after close, ids are computed here', async () => {
    const thread = new BlobIdThread();
    thread.warm();
    await thread.close();
    const b = sharedBuffer(2 << 20);
    assert.equal(await thread.id(b), gitBlobId(b));
  });


  it('resume: id and idOfPieces hash from the kept state of an earlier text (lastResumedAt, resumedBytes); ignored when this thread hashes', async () => {
    const thread = new BlobIdThread();
    try {
      const text1 = randomText();
      const blob1 = await thread.id(text1);
      assert.equal(blob1, gitBlobId(text1));
      assert.equal(thread.lastResumedAt, 0);
      const same = text1.length - 100;
      const text2 = changedFrom(text1, same);
      assert.equal(await thread.id(text2, 'sha1', { blob: blob1, same }), gitBlobId(text2));
      assert.equal(thread.lastResumedAt, floorCheckpoint(same));
      // Pieces: text2's first bytes (shared), a changed line copied over, text1's last bytes.
      const pieces = [text2.subarray(0, same - 50), Buffer.from('a changed line'), text1.subarray(same - 50 + 16)];
      const joined = joinPieces(pieces, { separator: 10 });
      assert.equal(joined.length, text1.length);
      assert.equal(await thread.idOfPieces(pieces, 10, 'sha1', text1.length, { blob: gitBlobId(text2), same: same - 50 }), gitBlobId(joined));
      assert.equal(thread.lastResumedAt, floorCheckpoint(same - 50));
      assert.equal(thread.resumedBytes, floorCheckpoint(same) + floorCheckpoint(same - 50));
      // Hashed here (bytes outside shared memory): resume ignored, the id of the whole bytes.
      assert.equal(await thread.id(Buffer.from(text2), 'sha1', { blob: blob1, same }), gitBlobId(text2));
      assert.equal(thread.lastResumedAt, 0);
      await thread.close();
      assert.equal(await thread.id(text2, 'sha1', { blob: blob1, same }), gitBlobId(text2), 'no worker: hashed whole here');
      assert.equal(thread.lastResumedAt, 0);
    } finally {
      await thread.close();
    }
  });

  it('resume with joinInto: every byte of `into` written as joinPieces lays it out (those before the state copied only), the right id', async () => {
    const thread = new BlobIdThread();
    try {
      const old = randomText();
      // The new text: old's bytes in three shared pieces (one small), a changed line near the end copied over, separators between.
      const line = old.length - 10_000;
      const end = line + 40;
      const changed = Buffer.from(old.subarray(line + 1, end).map((b) => b ^ 1));
      const pieces = [old.subarray(0, 777), old.subarray(778, line), changed, old.subarray(end + 1)];
      for (const at of [777, line, end]) old[at] = 10;
      const expected = joinPieces(pieces, { separator: 10 });
      assert.equal(expected.length, old.length);
      const blob = await thread.id(old);
      for (const same of [line + 1, 100, CHECKPOINT]) {
        const { size, shift } = joinLayout(pieces, true);
        const into = sharedBuffer(size, shift).fill(0xee);
        assert.equal(await thread.joinInto(pieces, 10, 'sha1', into, { blob, same }), gitBlobId(expected), `same ${same}`);
        assert.ok(into.equals(expected), `same ${same}: every byte written`);
        assert.equal(thread.lastResumedAt, floorCheckpoint(same));
      }
    } finally {
      await thread.close();
    }
  });

  it('resume chains: text2 resumes from text1, text3 from text2 (from a state text2 shares with text1, and from one of its own), all ids right; the text past KEPT evicts the oldest', async () => {
    const thread = new BlobIdThread();
    try {
      const text1 = randomText();
      const size = text1.length;
      const blob1 = await thread.id(text1);
      const text2 = changedFrom(text1, Math.floor(size * 0.7));
      const blob2 = await thread.id(text2, 'sha1', { blob: blob1, same: Math.floor(size * 0.7) });
      assert.equal(blob2, gitBlobId(text2));
      assert.equal(thread.lastResumedAt, floorCheckpoint(size * 0.7));
      // Before text2's change: the state it was resumed from (text1's, shared).
      const text3 = changedFrom(text2, Math.floor(size * 0.3));
      const blob3 = await thread.id(text3, 'sha1', { blob: blob2, same: Math.floor(size * 0.3) });
      assert.equal(blob3, gitBlobId(text3));
      assert.equal(thread.lastResumedAt, floorCheckpoint(size * 0.3));
      // After text3's change: a state text3 computed itself, after ones it shares with text2 and text1.
      const text4 = changedFrom(text3, Math.floor(size * 0.9));
      const blob4 = await thread.id(text4, 'sha1', { blob: blob3, same: Math.floor(size * 0.9) });
      assert.equal(blob4, gitBlobId(text4));
      assert.equal(thread.lastResumedAt, floorCheckpoint(size * 0.9));
      // Kept: text4, text3, text2, text1. KEPT - 3 other texts more: text1 goes, text2 stays.
      for (let k = 0; k < KEPT - 3; k++) await thread.id(randomText());
      assert.equal(await thread.id(text2, 'sha1', { blob: blob2, same: size }), blob2);
      assert.equal(thread.lastResumedAt, floorCheckpoint(size), 'text2 kept');
      assert.equal(await thread.id(text1, 'sha1', { blob: blob1, same: size }), blob1);
      assert.equal(thread.lastResumedAt, 0, 'text1 evicted');
    } finally {
      await thread.close();
    }
  });
});
