import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBounded } from '../../../../server/replica/read-bounded.js';

/** A Response whose body is `chunks` of `size` bytes, counting the chunks pulled. */
function streamed(chunks: number, size: number): { res: Response; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled === chunks) return c.close();
      pulled += 1;
      c.enqueue(new Uint8Array(size));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { res: new Response(body), pulled: () => pulled, cancelled: () => cancelled };
}

test('readBounded hands over an answer within the bound whole', async () => {
  const { res } = streamed(4, 1000);
  let bytes = 0;
  await readBounded(res, 4000, (c) => (bytes += c.length));
  assert.equal(bytes, 4000);
});

test('readBounded stops an endless answer just past the bound and cancels it', async () => {
  const s = streamed(1_000_000, 1024);
  let bytes = 0;
  await assert.rejects(readBounded(s.res, 8 * 1024, (c) => (bytes += c.length)), /longer than 8192 bytes/);
  assert.ok(bytes <= 8 * 1024);
  assert.ok(s.pulled() < 20, `read ${s.pulled()} chunks`);
  assert.equal(s.cancelled(), true);
});
