/**
 * The blob-id worker itself (host/blob-id-worker.ts), spoken to as BlobIdThread speaks to it: one
 * request per message, each answer carrying the request's id, a refusal as an answer (the worker
 * goes on serving), and the text joined into shared memory as it is hashed.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../../host/start-worker.js';
import type { BlobIdAnswer, BlobIdRequest } from '../../../host/blob-id-worker.js';
import { sharedBuffer } from '../../../shared/bytes/spare-buffer.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';

describe('blob-id worker', () => {
  const worker: Worker = startWorker(new URL('../../../host/blob-id-thread.ts', import.meta.url).href, 'blob-id-worker');
  after(() => worker.terminate());
  const ask = async (req: BlobIdRequest): Promise<BlobIdAnswer> => {
    worker.postMessage(req);
    const [answer] = (await once(worker, 'message')) as [BlobIdAnswer];
    return answer;
  };

  it('answers the blob id of shared bytes and of pieces, joins pieces into `into` as it hashes them, and refuses pieces of another size with an answer, serving on', async () => {
    const text = sharedBuffer(3 << 20);
    for (let i = 0; i < text.length; i++) text[i] = 97 + (i % 31);
    assert.deepEqual(await ask({ id: 1, shared: text.buffer as SharedArrayBuffer, offset: text.byteOffset, length: text.length, algorithm: 'sha1' }), { id: 1, blob: gitBlobId(text) });
    // Pieces bigger than the worker's chunk, a small one copied over, a separator between each two.
    const pieces = [text.subarray(0, 5), Buffer.from('new line'), text.subarray(5)];
    const joined = Buffer.concat([pieces[0]!, Buffer.of(10), pieces[1]!, Buffer.of(10), pieces[2]!]);
    const parts = [{ shared: text.buffer as SharedArrayBuffer, offset: 0, length: 5 }, { bytes: new Uint8Array(pieces[1]!) }, { shared: text.buffer as SharedArrayBuffer, offset: 5, length: text.length - 5 }];
    const into = sharedBuffer(joined.length + 3).subarray(3);
    assert.deepEqual(await ask({ id: 2, pieces: parts, separator: 10, into: { shared: into.buffer as SharedArrayBuffer, offset: into.byteOffset }, length: joined.length, algorithm: 'sha256' }), { id: 2, blob: gitBlobId(joined, 'sha256') });
    assert.ok(into.equals(joined), 'the text written where it was asked');
    const wrong = await ask({ id: 3, pieces: parts, separator: 10, length: joined.length + 1, algorithm: 'sha1' });
    assert.equal(wrong.id, 3);
    assert.ok('error' in wrong && /not|more than/.test(wrong.error));
    assert.deepEqual(await ask({ id: 4, pieces: parts, separator: 10, length: joined.length, algorithm: 'sha1' }), { id: 4, blob: gitBlobId(joined) });
  });
});
