/**
 * Review (hostile or merely busy server): every `ahead` frame now sends the block its bytes
 * are joined into (the spare block, ~1.25 x the bytes in force) to the blob-id worker, which keeps
 * it alive until its own GC: frames that are never taken (dropped at the next idle) no longer
 * free their blocks when the agent lets go of them. 20 frames over 30 MB in force.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeltaAnswers } from '../../../../agent/wire/delta-answers.js';
import { knownBlobId } from '../../../../agent/known-blob-id.js';
import { sharedBuffer } from '../../../../shared/bytes/spare-buffer.js';
import type { AheadMessage } from '../../../../shared/wire/messages.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('review (hostile server): ahead frames dropped untaken: their blocks are not kept alive by the worker (RSS bounded over 20 frames of 30 MB)', async (t) => {
  const answers = new DeltaAnswers();
  t.after(() => answers.close());
  const n = 1_000_000;
  const line = (i: number) => `  "198.18.${(i >> 8) & 255}.${i & 255}",`;
  const text = Buffer.from(Array.from({ length: n }, (_, i) => line(i)).join('\n'));
  const bytes = sharedBuffer(text.length);
  text.copy(bytes);
  // Two Buffer objects over the same bytes in force: an idle with the other drops the frame kept.
  const views = [bytes, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)];
  const blob = knownBlobId(views[0]!);
  assert.equal(knownBlobId(views[1]!), blob);
  // Change the first line: `- 1`, `+ 1`, then copy the rest.
  const delta = Buffer.from(`nft-sync-delta 1\n- 1\n+ 1\n  "10.0.0.1",\n= ${n - 1}\n`);
  const target = text.length - Buffer.byteLength(line(0)) + Buffer.byteLength('  "10.0.0.1",');
  const frame = (i: number): AheadMessage => ({ type: 'ahead', ref: 'refs/heads/main', ruleset: 'default', commit: i.toString(16).padStart(40, '0'), base: blob, size: delta.length, target });
  gc();
  const start = process.memoryUsage().rss;
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    answers.idle(views[i % 2]!);
    const rebuilt = answers.ahead(frame(i), delta, 64 << 20);
    assert.ok(rebuilt !== undefined, `frame ${i} rebuilt`);
    const s = answers.settled({ type: 'ruleset', commit: frame(i).commit, ruleset: 'default' } as never);
    assert.ok(s !== undefined, "joined in the worker");
    await s;
    gc();
    peak = Math.max(peak, process.memoryUsage().rss - start);
  }
  assert.ok(peak < 160 << 20, `RSS grew by ${Math.round(peak / 2 ** 20)} MB over 20 ahead frames of 30 MB never taken (0 MB before cb1e0de, 0 MB with the worker collecting after each request)`);
});
