import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { BlobIdThread } from '../../../host/blob-id-thread.js';
import { sharedBuffer } from '../../../shared/bytes/spare-buffer.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';

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

  it('after close, ids are computed here', async () => {
    const thread = new BlobIdThread();
    thread.warm();
    await thread.close();
    const b = sharedBuffer(2 << 20);
    assert.equal(await thread.id(b), gitBlobId(b));
  });
});
