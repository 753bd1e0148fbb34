import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { jsonErrorPosition } from '../../../../shared/json/json-error-position.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';

describe('jsonErrorPosition', () => {
  const cases: Array<[string, number | undefined]> = [
    ['{}', undefined],
    [' [1, -2.5e3, {"a": [true, null, "x\\n\\u00e9"]}] ', undefined],
    ['{"nftables": [\n  {"table": }\n]}\n', 27],
    ['[1,]', 3],
    ['{"a" 1}', 5],
    ['', 0],
    ['[', 1],
    ['1 2', 2],
    ['{"a":1,}', 7],
    ['{,}', 1],
    ['[01]', 2],
  ];
  for (const [text, want] of cases) {
    test(`${JSON.stringify(text)} -> ${String(want)}`, () => assert.equal(jsonErrorPosition(text), want));
  }

  test('agrees with JSON.parse on what is valid (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string(), fc.json().map((j) => j.slice(0, -1))), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        assert.equal(jsonErrorPosition(text) === undefined, valid, text);
      }),
      { numRuns: 500 },
    );
  });

  test('deep nesting does not overflow the stack', () => {
    assert.equal(jsonErrorPosition('['.repeat(200_000)), 200_000);
  });

  test('parseRuleset reports line and column where Node does not', () => {
    assert.throws(() => parseRuleset('{"nftables": [\n  {"table": }\n]}\n'), (e: { code: string; data: { line: number; column: number } }) => {
      assert.equal(e.code, 'NFTSYNC_ERR_RULESET_JSON');
      assert.deepEqual([e.data.line, e.data.column], [2, 13]);
      return true;
    });
  });
});
