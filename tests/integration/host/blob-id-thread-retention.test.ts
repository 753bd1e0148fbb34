/**
 * Review (the blob-id worker kept every `into` block alive until its own collection).
 * joinInto sends the block the text is joined into (a SharedArrayBuffer of the text's size plus
 * headroom: ~31 MB for the 1,000,000-element ruleset) to the worker; the worker's heap, which
 * allocates next to nothing, is not collected for dozens of requests, and each block's memory
 * stays mapped though the main thread let go of it. Before cb1e0de the server's blocks never
 * went to the worker. 20 joins of 32 MB: RSS must not grow by more than about 10 blocks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BlobIdThread } from '../../../host/blob-id-thread.js';
import { sharedBuffer } from '../../../shared/bytes/spare-buffer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('review: joinInto: blocks the main thread let go of are not kept alive by the worker (RSS bounded over 20 joins of 32 MB)', async (t) => {
  const thread = new BlobIdThread();
  t.after(() => thread.close());
  const base = sharedBuffer(32 << 20);
  base.fill(97);
  thread.warm();
  gc();
  const start = process.memoryUsage().rss;
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    const into = sharedBuffer(base.length + 5);
    into.fill(0); // its pages touched, as SpareBuffer.prepare does
    const id = thread.joinInto([base.subarray(0, 1000), Buffer.from('hello'), base.subarray(1000)], undefined, 'sha1', into);
    assert.ok(id !== undefined);
    await id;
    gc();
    peak = Math.max(peak, process.memoryUsage().rss - start);
  }
  assert.ok(peak < 320 << 20, `RSS grew by ${Math.round(peak / 2 ** 20)} MB over 20 joins of 32 MB (blocks kept alive by the worker)`);
});
