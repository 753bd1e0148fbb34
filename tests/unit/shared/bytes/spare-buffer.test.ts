import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isShared, sharedBuffer, SpareBuffer } from '../../../../shared/bytes/spare-buffer.js';

describe('SpareBuffer', () => {
  it('hands out a prepared block once, as a Buffer of exactly the size asked, over shared memory', () => {
    const spare = new SpareBuffer();
    spare.prepare(1000);
    const held = spare.capacity;
    assert.ok(held >= 1000);
    const a = spare.take(1000);
    assert.equal(a.length, 1000);
    assert.ok(isShared(a));
    assert.equal(a.buffer.byteLength, held, 'the prepared block itself');
    assert.equal(spare.capacity, 0, 'handed out once');
    const b = spare.take(1000);
    assert.notEqual(b.buffer, a.buffer, 'no two texts share memory');
    assert.ok(isShared(b));
  });

  it('a block too small is not used, and prepare keeps a block big enough', () => {
    const spare = new SpareBuffer();
    spare.prepare(10);
    const small = spare.capacity;
    const big = spare.take(small + 1);
    assert.equal(big.length, small + 1);
    assert.equal(spare.capacity, small, 'the small block stays');
    spare.prepare(5);
    assert.equal(spare.capacity, small, 'big enough: kept');
    spare.prepare(0);
    assert.equal(spare.capacity, 0);
  });

  it('review: a block far bigger than the text is not handed out (the text would pin it all: a set shrunk from 1,000,000 elements to 10)', () => {
    const spare = new SpareBuffer();
    spare.prepare(8 << 20);
    const small = spare.take(1000);
    assert.equal(small.length, 1000);
    assert.ok(small.buffer.byteLength < 1 << 20, `a 1000-byte text over ${small.buffer.byteLength} bytes`);
    assert.equal(spare.capacity, 0, 'the oversized block let go');
  });

  it('sharedBuffer and isShared', () => {
    assert.equal(sharedBuffer(0).length, 0);
    assert.ok(isShared(sharedBuffer(3)));
    assert.ok(!isShared(Buffer.alloc(3)));
  });
});
