import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isExactJsonNumber, printedJsonNumber } from '../../../../shared/ruleset/exact-json-number.js';

test('a number is exact when JSON.stringify(JSON.parse(it)) has the same value', () => {
  const exact = ['0', '-0', '1', '-1', '24', '9007199254740991', '9007199254740992', '1152921504606847000', '18446744073709552000', '1.5', '0.1', '1e3', '1.0', '100', '-1e-7', '1.00000000000000000000000000000000'];
  const inexact = ['9007199254740993', '1152921504606846976', '18446744073709551615', '-9007199254740993', '0.10000000000000000001', '1e400', '-1e400', '123456789012345678', '1e-400'];
  for (const t of exact) assert.equal(isExactJsonNumber(t), true, t);
  for (const t of inexact) assert.equal(isExactJsonNumber(t), false, t);
  assert.equal(printedJsonNumber('9007199254740993'), '9007199254740992');
  assert.equal(printedJsonNumber('1e400'), 'null (out of range)');
});

test('every safe integer is exact, and an integer above 2^53 is exact exactly when it survives the round trip', () => {
  fc.assert(fc.property(fc.maxSafeInteger(), (n) => isExactJsonNumber(String(n))), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n }), (b) => {
      const token = b.toString();
      assert.equal(isExactJsonNumber(token), BigInt(JSON.stringify(Number(token))) === b, token);
    }),
    { numRuns: 2000 },
  );
});

test('long tokens cost linear time (no regex backtracking on zero runs)', () => {
  const zeros = `1${'0'.repeat(200_000)}1`;
  assert.equal(isExactJsonNumber(zeros), false);
  assert.equal(isExactJsonNumber(`1.${'0'.repeat(200_000)}`), true);
});
