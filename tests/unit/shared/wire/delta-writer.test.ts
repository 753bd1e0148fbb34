/** DeltaWriter: runs merged, inserted lines copied from the target's bytes, the size known before the end. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeltaWriter } from '../../../../shared/wire/delta-writer.js';

test('DeltaWriter merges runs of an operation, writes deletions before insertions, and knows its size at every step', () => {
  const target = Buffer.from('a\nx\ny\nc\nz');
  const w = new DeltaWriter(target);
  const sizes: number[] = [];
  w.copy(1);
  sizes.push(w.size());
  w.insert(2, 4, 1);
  w.remove(1);
  w.insert(4, 6, 1);
  sizes.push(w.size());
  w.copy(1);
  w.copy(2);
  sizes.push(w.size());
  w.remove(3);
  w.insert(8, 10, 1); // the last line, without its `\n`
  sizes.push(w.size());
  const d = w.finish().toString();
  assert.equal(d, 'nft-sync-delta 1\n= 1\n- 1\n+ 2\nx\ny\n= 3\n- 3\n+ 1\nz\n');
  assert.deepEqual(sizes, [21, 33, 37, d.length]);
});

test('DeltaWriter: nothing written is the header alone; counts of many digits are sized right', () => {
  assert.equal(new DeltaWriter(Buffer.alloc(0)).finish().toString(), 'nft-sync-delta 1\n');
  const w = new DeltaWriter(Buffer.alloc(0));
  w.copy(123_456_789);
  assert.equal(w.size(), w.finish().length);
});
