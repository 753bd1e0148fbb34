/** countNewlines (WebAssembly SIMD) and countNewlinesInWords (its fallback): the `\n` bytes of any range, whatever its alignment, as a byte loop counts them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { countNewlines, countNewlinesInWords } from '../../../../shared/wire/count-newlines.js';

const naive = (b: Uint8Array, from: number, to: number): number => {
  let n = 0;
  for (let i = Math.max(0, from); i < Math.min(b.length, to); i++) if (b[i] === 10) n++;
  return n;
};

test('countNewlines counts as a byte loop does, for any range and alignment (views into a pooled buffer included)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.nat(7), fc.nat(70_100), fc.nat(70_100), fc.double({ min: 0, max: 1, noNaN: true }), (raw, shift, x, y, density) => {
      // Mostly newlines or few: lanes must not overflow when every byte is one.
      const bytes = raw.map((v) => (v / 256 < density ? 10 : v === 10 ? 11 : v));
      const pool = Buffer.alloc(bytes.length + 8);
      const buf = pool.subarray(shift, shift + bytes.length);
      buf.set(bytes);
      for (const count of [countNewlines, countNewlinesInWords]) {
        assert.equal(count(buf, x, y), naive(buf, x, y));
        assert.equal(count(buf, 0, buf.length), naive(buf, 0, buf.length));
      }
    }),
    { numRuns: 300 },
  );
});

test('countNewlines: a megabyte of newlines (every lane full), of none, and the empty and reversed ranges', () => {
  for (const count of [countNewlines, countNewlinesInWords]) {
    assert.equal(count(Buffer.alloc(1 << 20, 10), 0, 1 << 20), 1 << 20);
    assert.equal(count(Buffer.alloc(1 << 20, 10), 5, (1 << 20) - 3), (1 << 20) - 8);
    assert.equal(count(Buffer.alloc(1 << 20, 11), 0, 1 << 20), 0);
    assert.equal(count(Buffer.from('a\nb\n'), 2, 2), 0);
    assert.equal(count(Buffer.from('a\nb\n'), 3, 1), 0);
    assert.equal(count(Buffer.from('\n\n\n'), -5, 99), 3);
  }
});
