import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstFailingPrefix } from '../../../../shared/ruleset/first-failing-prefix.js';
import { describePosition, formatLocation, locateNftError } from '../../../../shared/nft/nft-error-location.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

const RULESET = {
  nftables: [
    { metainfo: { json_schema_version: 1 } },
    { table: { family: 'inet', name: 'filter' } },
    { chain: { family: 'inet', table: 'filter', name: 'input' } },
    { chain: { family: 'inet', table: 'filter', name: 'ssh' } },
    { set: { family: 'inet', table: 'filter', name: 'blk', type: 'ipv4_addr', elem: ['10.0.0.1', '10.0.0.2'] } },
    { rule: { family: 'inet', table: 'filter', chain: 'input', expr: [{ accept: null }] } },
    { rule: { family: 'inet', table: 'filter', chain: 'ssh', expr: [{ accept: null }] } },
    { rule: { family: 'inet', table: 'filter', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blk' } }, { jump: { target: 'ssh' } }] } },
    { rule: { family: 'inet', table: 'filter', chain: 'input', expr: [{ counter: null }, { bogus: 1 }] } },
    { element: { family: 'inet', table: 'filter', name: 'blk', elem: ['10.0.0.3'] } },
    { counter: { family: 'inet', table: 'filter', name: 'web' } },
  ],
} as unknown as Ruleset;

describe('describePosition', () => {
  test('renders each kind with family, table, chain and the rule\'s place in its chain', () => {
    const cases: Array<[Parameters<typeof describePosition>[1], string, string]> = [
      [{ index: 1 }, '/nftables/1', 'table inet filter'],
      [{ index: 2 }, '/nftables/2', 'chain inet filter input'],
      [{ index: 7 }, '/nftables/7', 'rule 2 of chain inet filter input'],
      [{ index: 6 }, '/nftables/6', 'rule 1 of chain inet filter ssh'],
      [{ index: 8, expr: 1 }, '/nftables/8/rule/expr/1', 'statement 2 of rule 3 of chain inet filter input'],
      [{ index: 4 }, '/nftables/4', 'set inet filter blk'],
      [{ index: 4, element: 1 }, '/nftables/4/set/elem/1', 'element 2 of set inet filter blk'],
      [{ index: 9 }, '/nftables/9', 'elements for set inet filter blk'],
      [{ index: 10 }, '/nftables/10', 'counter inet filter web'],
      [{ index: 99 }, '/nftables/99', 'item 99'],
    ];
    for (const [pos, pointer, what] of cases) assert.deepEqual(describePosition(RULESET, pos), { pointer, what });
    assert.equal(formatLocation({ pointer: '/nftables/7', what: 'rule 2 of chain inet filter input' }), 'rule 2 of chain inet filter input (/nftables/7)');
  });
});

describe('locateNftError', () => {
  test('maps "Parsing command array at index N" through the transaction to the item, with the statement', () => {
    // Transaction: `create table` (a table not owned yet), table, 2 chains, counter, set, then rules from command 6 on.
    const stderr = "internal:0:0-0: Error: Unknown statement object 'bogus'.\n\ninternal:0:0-0: Error: Parsing expr array at index 1 failed.\n\ninternal:0:0-0: Error: Parsing command array at index 9 failed.\n";
    assert.deepEqual(locateNftError(stderr, RULESET), { pointer: '/nftables/8/rule/expr/1', what: 'statement 2 of rule 3 of chain inet filter input' });
    // Two more reset commands (add + delete) when the agent managed another table before, and
    // two instead of one for a declared table it owns.
    assert.deepEqual(locateNftError('Error: Parsing command array at index 11 failed.', RULESET, [{ family: 'ip', name: 'old' }])?.pointer, '/nftables/8');
    assert.deepEqual(locateNftError('Error: Parsing command array at index 12 failed.', RULESET, [{ family: 'ip', name: 'old' }, { family: 'inet', name: 'filter' }])?.pointer, '/nftables/8');
    assert.deepEqual(locateNftError('Error: Parsing command array at index 5 failed.', RULESET), { pointer: '/nftables/4', what: 'set inet filter blk' });
    assert.equal(locateNftError('Error: Parsing command array at index 0 failed.', RULESET), undefined);
  });

  test('"No such file or directory": the one rule that jumps to, or looks up, something undeclared', () => {
    const dangling = structuredClone(RULESET);
    (dangling.nftables[6] as { rule: { expr: unknown[] } }).rule.expr = [{ goto: { target: 'nowhere' } }];
    assert.deepEqual(locateNftError('internal:0:0-0: Error: Could not process rule: No such file or directory', dangling), { pointer: '/nftables/6', what: 'rule 1 of chain inet filter ssh' });
    const missingSet = structuredClone(RULESET);
    (missingSet.nftables[5] as { rule: { expr: unknown[] } }).rule.expr = [{ match: { op: '==', left: { meta: { key: 'mark' } }, right: '@nope' } }, { log: { prefix: '@not-a-set' } }];
    assert.equal(locateNftError('Error: No such file or directory', missingSet)?.pointer, '/nftables/5');
    // Nothing undeclared, or more than one suspect: nft's message alone does not say.
    assert.equal(locateNftError('Error: Could not process rule: No such file or directory', RULESET), undefined);
    const two = structuredClone(dangling);
    (two.nftables[5] as { rule: { expr: unknown[] } }).rule.expr = [{ jump: { target: 'gone' } }];
    assert.equal(locateNftError('Error: Could not process rule: No such file or directory', two), undefined);
    assert.equal(locateNftError('Error: Could not process rule: Operation not supported', dangling), undefined);
  });
});

describe('firstFailingPrefix', () => {
  test('finds the first failing item in about log2(n) checks, whatever its place', async () => {
    for (const n of [1, 2, 3, 17, 1000]) {
      for (const culprit of new Set([0, Math.floor(n / 3), n - 1])) {
        const checked: number[] = [];
        const s = await firstFailingPrefix(n, async (k) => (checked.push(k), k >= culprit));
        assert.deepEqual([s.index, s.from], [culprit, culprit], `n=${n} culprit=${culprit}`);
        assert.ok(s.runs <= Math.ceil(Math.log2(n)), `n=${n}: ${s.runs} runs`);
        assert.ok(!checked.includes(n - 1), 'the whole list is known to fail and never checked again');
      }
    }
  });

  test('stops at maxRuns with a bracket around the culprit', async () => {
    const s = await firstFailingPrefix(1024, async (k) => k >= 700, 3);
    assert.equal(s.runs, 3);
    assert.ok(s.from <= 700 && 700 <= s.index && s.from < s.index, JSON.stringify(s));
  });
});
