import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { BlobIdThread } from '../../../host/blob-id-thread.js';
import { sharedBuffer } from '../../../shared/bytes/spare-buffer.js';
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
});
