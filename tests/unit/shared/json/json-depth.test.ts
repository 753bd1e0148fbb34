import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonNestsDeeperThan } from '../../../../shared/json/json-depth.js';

const deeper = (text: string, max: number) => jsonNestsDeeperThan(Buffer.from(text), max);

function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === 'object') return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

describe('jsonNestsDeeperThan', () => {
  const cases: Array<[string, string, number, boolean]> = [
    ['a scalar', '42', 0, false],
    ['an object at the limit', '{"a":{"b":[1]}}', 3, false],
    ['an object past the limit', '{"a":{"b":[1]}}', 2, true],
    ['brackets inside a string', '{"a":"[[[[{{{{"}', 1, false],
    ['an escaped quote inside a string', '{"a":"\\"[[[["}', 1, false],
    ['an escaped backslash before the closing quote', '{"a":"\\\\","b":[[1]]}', 2, true],
    ['siblings do not add up', '[[1],[2],[3]]', 2, false],
    ['64 KiB of open brackets', '['.repeat(65536), 16, true],
  ];
  for (const [name, text, max, want] of cases) it(name, () => assert.equal(deeper(text, max), want));

  it('agrees with the depth of any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, max) => deeper(JSON.stringify(v), max) === depthOf(v) > max),
      { numRuns: 2000, seed: 7 },
    );
  });
});
