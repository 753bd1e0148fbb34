/** The cost model of the minimal transaction against the nft 1.0.6 figures issue 10 quotes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementDeltaCost, loadSetCost, refillCost, rulesCost } from '../../../../shared/ruleset/transaction-cost.js';

test('deleting from an interval set costs set size × deletions: 1,000 from 20,000 prefixes is dearer than loading 100,000 whole', () => {
  const deletes = elementDeltaCost(true, 20_000, 0, 1_000);
  assert.ok(deletes >= 20, `${deletes} s estimated (20 s measured)`);
  assert.ok(deletes > loadSetCost({ interval: true, elements: 100_000 }), 'the full replacement wins');
  assert.ok(refillCost(true, 20_000, 19_000) < deletes, 'refilling the set wins too');
});

test('a 1,000-element change to a 1,000,000-element hash set is far cheaper than loading the set; no change costs nothing', () => {
  const delta = elementDeltaCost(false, 1_000_000, 500, 500);
  assert.ok(delta * 100 < loadSetCost({ interval: false, elements: 1_000_000 }));
  assert.equal(elementDeltaCost(true, 1_000_000, 0, 0), 0);
  assert.equal(rulesCost(0), 0);
  assert.ok(rulesCost(10_000) > 0.6 && rulesCost(10_000) < 1, '10,000 rules load in 0.61–0.79 s');
});
