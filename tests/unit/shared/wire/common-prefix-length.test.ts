/** commonPrefixLength: the bytes two ranges share, found by native comparisons, as a byte loop finds them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { commonPrefixLength } from '../../../../shared/wire/common-prefix-length.js';

const naive = (a: Buffer, i: number, b: Buffer, j: number): number => {
  let n = 0;
  while (i + n < a.length && j + n < b.length && a[i + n] === b[j + n]) n++;
  return n;
};

test('commonPrefixLength agrees with a byte loop: a difference at any distance, or none before either end', () => {
  fc.assert(
    fc.property(fc.nat(20_000), fc.nat(50), fc.nat(50), fc.nat(20_100), fc.boolean(), (len, i, j, at, shorter) => {
      const a = Buffer.alloc(len + 50);
      for (let k = 0; k < a.length; k++) a[k] = (k * 31) & 255;
      const b = Buffer.concat([Buffer.alloc(j, 1), a.subarray(i, shorter ? i + len : undefined)]);
      if (j + at < b.length) b[j + at] = b[j + at]! ^ 0x55;
      assert.equal(commonPrefixLength(a, i, b, j), naive(a, i, b, j));
    }),
    { numRuns: 1000 },
  );
});

test('commonPrefixLength: identical 20 MB, and offsets at the ends', () => {
  const a = Buffer.alloc(20 << 20, 7);
  assert.equal(commonPrefixLength(a, 0, Buffer.from(a), 0), a.length);
  assert.equal(commonPrefixLength(a, a.length, a, 0), 0);
  assert.equal(commonPrefixLength(Buffer.alloc(0), 0, Buffer.alloc(0), 0), 0);
});
