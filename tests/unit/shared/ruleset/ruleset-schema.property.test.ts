/**
 * parseRuleset takes untrusted bytes (from the server, from a push): whatever it is given, it
 * either returns a ruleset or throws an NftSyncError with a ruleset code, never anything else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NftSyncError } from '../../../../shared/errors.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json');
const CODES = new Set(['NFTSYNC_ERR_RULESET_JSON', 'NFTSYNC_ERR_RULESET_SCHEMA', 'NFTSYNC_ERR_RULESET_NUMBER_INEXACT', 'NFTSYNC_ERR_RULESET_TOO_COMPLEX']);

function parsesOrRefuses(input: Buffer | string): void {
  try {
    parseRuleset(input);
  } catch (e) {
    assert.ok(e instanceof NftSyncError, `threw ${String(e)}`);
    assert.ok(CODES.has(e.code), e.code);
  }
}

describe('parseRuleset on hostile input', () => {
  it('random JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => parsesOrRefuses(JSON.stringify(v))), { numRuns: 3000 });
  });
  it('random objects shaped like rulesets', () => {
    const item = fc.dictionary(fc.constantFrom('table', 'chain', 'rule', 'set', 'map', 'element', 'counter', 'metainfo', 'x'), fc.jsonValue({ maxDepth: 4 }), { minKeys: 1, maxKeys: 2 });
    fc.assert(fc.property(fc.array(item, { maxLength: 12 }), (items) => parsesOrRefuses(JSON.stringify({ nftables: items }))), { numRuns: 3000 });
  });
  it('default.json with bytes flipped, cut or inserted', () => {
    fc.assert(
      fc.property(fc.nat(DEFAULT.length - 1), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'insert'), (pos, byte, how) => {
        const b = Buffer.from(DEFAULT);
        if (how === 'flip') b[pos] = byte;
        const input = how === 'cut' ? b.subarray(0, pos) : how === 'insert' ? Buffer.concat([b.subarray(0, pos), Buffer.from([byte]), b.subarray(pos)]) : b;
        parsesOrRefuses(input);
      }),
      { numRuns: 5000 },
    );
  });
  it('deep nesting and huge strings are refused without a crash', () => {
    parsesOrRefuses('['.repeat(100_000) + ']'.repeat(100_000));
    parsesOrRefuses(JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'x'.repeat(1_000_000) } }] }));
    parsesOrRefuses(Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
  });
});
