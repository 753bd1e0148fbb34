import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstFailingPrefix } from '../../../../shared/ruleset/first-failing-prefix.js';

test('firstFailingPrefix finds the first item whose prefix fails, in log2(n) checks', async () => {
  for (const [n, culprit] of [[1, 0], [2, 1], [100, 0], [100, 37], [100, 99], [1000, 513]] as const) {
    const r = await firstFailingPrefix(n, async (k) => k >= culprit);
    assert.deepEqual({ index: r.index, from: r.from }, { index: culprit, from: culprit }, `n=${n} culprit=${culprit}`);
    assert.ok(r.runs <= Math.ceil(Math.log2(n)), `${r.runs} checks for ${n} items`);
  }
});

test('firstFailingPrefix stops at maxRuns and says where the culprit may still be', async () => {
  const r = await firstFailingPrefix(1000, async (k) => k >= 700, 3);
  assert.equal(r.runs, 3);
  assert.ok(r.from <= 700 && 700 <= r.index && r.from < r.index, JSON.stringify(r));
});
