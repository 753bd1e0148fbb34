import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { once } from 'node:events';
import { startWorker } from '../../../host/start-worker.js';
import type { BlobIdAnswer } from '../../../host/blob-id-worker.js';
import { sharedBuffer } from '../../../shared/bytes/spare-buffer.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';

describe('startWorker', () => {
  it('runs a worker module beside the caller from its TypeScript source (tests and benches run the sources)', async () => {
    const worker = startWorker(new URL('../../../host/blob-id-thread.ts', import.meta.url).href, 'blob-id-worker');
    try {
      const bytes = sharedBuffer(16);
      bytes.fill(7);
      worker.postMessage({ id: 1, shared: bytes.buffer, offset: 0, length: 16, algorithm: 'sha1' });
      const [answer] = (await once(worker, 'message')) as [BlobIdAnswer];
      assert.deepEqual(answer, { id: 1, blob: gitBlobId(bytes) });
    } finally {
      await worker.terminate();
    }
  });
});
