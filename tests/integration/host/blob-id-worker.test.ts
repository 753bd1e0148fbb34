/**
 * The blob-id worker itself (host/blob-id-worker.ts), spoken to as BlobIdThread speaks to it: one
 * request per message, each answer carrying the request's id, a refusal as an answer (the worker
 * goes on serving), the text joined into shared memory as it is hashed, and a text resumed from
 * the kept state of an earlier one (`resume`, the answer's `resumedAt`).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { once } from 'node:events';
import { randomFillSync, randomInt } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../../host/start-worker.js';
import type { BlobIdAnswer, BlobIdRequest } from '../../../host/blob-id-worker.js';
import { CHECKPOINT } from '../../../host/blob-id-checkpoints.js';
import { sharedBuffer } from '../../../shared/bytes/spare-buffer.js';
import { changedFrom, floorCheckpoint, randomText } from '../../helpers/resume-texts.js';
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

  // Random texts of 3-5 MB in shared memory (tests/helpers/resume-texts.ts), asked for as BlobIdThread.id asks.
  const whole = (text: Buffer, id: number, algorithm: 'sha1' | 'sha256' = 'sha1', resume?: BlobIdRequest['resume']): BlobIdRequest => ({ id, shared: text.buffer as SharedArrayBuffer, offset: text.byteOffset, length: text.length, algorithm, ...(resume && { resume }) });

  it('resume: hashes a text from the last kept state of an earlier text at or before `same`, and its id is gitBlobId of its bytes: at 0, under a checkpoint, on one, between two, the whole length', async () => {
    const size = randomInt(3 << 20, 5 << 20);
    const text1 = randomText(size);
    const blob1 = gitBlobId(text1);
    let id = 10;
    for (const same of [0, CHECKPOINT - 1, 3 * CHECKPOINT, 3 * CHECKPOINT + randomInt(1, CHECKPOINT), size]) {
      // text1 hashed again first (no resume): its entry is the most recent, whatever the last text evicted.
      assert.deepEqual(await ask(whole(text1, id++)), { id: id - 1, blob: blob1 });
      const text2 = changedFrom(text1, same);
      const answer = await ask(whole(text2, id++, 'sha1', { blob: blob1, same }));
      const at = floorCheckpoint(same);
      assert.deepEqual(answer, { id: id - 1, blob: gitBlobId(text2), ...(at > 0 && { resumedAt: at }) }, `size ${size}, same ${same}`);
    }
  });

  it('resume: none from another length, another algorithm or an unknown blob (the whole text hashed); sha256 texts resume from sha256 ones; the claim is trusted, not checked', async () => {
    const size = randomInt(3 << 20, 5 << 20);
    const text1 = randomText(size);
    const blob1 = gitBlobId(text1);
    assert.deepEqual(await ask(whole(text1, 20)), { id: 20, blob: blob1 });
    const same = 2 * CHECKPOINT + 5;
    const text2 = changedFrom(text1, same);
    // A false claim (text2 differs from text1 at byte `same`, not before): the bytes before the state are not read.
    const wrong = await ask(whole(text2, 19, 'sha1', { blob: blob1, same: size }));
    assert.ok('blob' in wrong && wrong.blob !== gitBlobId(text2) && wrong.resumedAt === floorCheckpoint(size));
    assert.deepEqual(await ask(whole(text1, 20)), { id: 20, blob: blob1 });
    const longer = sharedBuffer(size + 1);
    text1.copy(longer);
    assert.deepEqual(await ask(whole(longer, 21, 'sha1', { blob: blob1, same })), { id: 21, blob: gitBlobId(longer) }, 'another length');
    assert.deepEqual(await ask(whole(text2, 22, 'sha256', { blob: blob1, same })), { id: 22, blob: gitBlobId(text2, 'sha256') }, 'another algorithm');
    assert.deepEqual(await ask(whole(text2, 23, 'sha1', { blob: '0'.repeat(40), same })), { id: 23, blob: gitBlobId(text2) }, 'an unknown blob');
    assert.deepEqual(await ask(whole(text1, 24, 'sha256')), { id: 24, blob: gitBlobId(text1, 'sha256') });
    assert.deepEqual(await ask(whole(text2, 25, 'sha256', { blob: gitBlobId(text1, 'sha256'), same })), { id: 25, blob: gitBlobId(text2, 'sha256'), resumedAt: 2 * CHECKPOINT });
  });

  it('resume with pieces and `into`: every byte written, those before the state copied only; the id right', async () => {
    const size = randomInt(3 << 20, 5 << 20);
    const old = randomText(size);
    // The new text: old's first bytes (two shared ranges, one small, and a separator), a changed line copied over, old's last bytes.
    const cut = size - 3000;
    const parts = [{ shared: old.buffer as SharedArrayBuffer, offset: 0, length: 1000 }, { shared: old.buffer as SharedArrayBuffer, offset: 1001, length: cut - 1001 }, { bytes: new Uint8Array(randomFillSync(Buffer.alloc(999))) }, { shared: old.buffer as SharedArrayBuffer, offset: cut + 1000, length: size - cut - 1000 }];
    old[1000] = 10; // the separator between the first two pieces: old's byte there
    const text = Buffer.concat([old.subarray(0, 1000), Buffer.of(10), old.subarray(1001, cut), Buffer.of(10), parts[2]!.bytes as Uint8Array, Buffer.of(10), old.subarray(cut + 1000)]);
    // The text resumed from: old2, of the new text's length and with its first `cut` bytes.
    const old2 = randomText(text.length);
    text.copy(old2, 0, 0, cut);
    assert.deepEqual(await ask(whole(old2, 31)), { id: 31, blob: gitBlobId(old2) });
    const into = sharedBuffer(text.length + 5).subarray(5).fill(0xee);
    const answer = await ask({ id: 32, pieces: parts, separator: 10, into: { shared: into.buffer as SharedArrayBuffer, offset: into.byteOffset }, length: text.length, algorithm: 'sha1', resume: { blob: gitBlobId(old2), same: cut } });
    assert.deepEqual(answer, { id: 32, blob: gitBlobId(text), resumedAt: floorCheckpoint(cut) });
    assert.ok(into.equals(text), 'every byte written');
  });
});
