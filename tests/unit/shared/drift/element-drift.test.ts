import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementHealBatch, ElementDrift, findDeclared } from '../../../../shared/drift/element-drift.js';

const blk = { family: 'inet', table: 't', name: 'blk' };
const k = (id: string, value: unknown) => ({ id, value });

test('element drift folds outside changes; undoing them empties it', () => {
  const d = new ElementDrift();
  assert.equal(d.empty, true);
  d.note(blk, 'add', [k('c0000207', '192.0.2.7')]);
  d.note(blk, 'del', [k('0a000001', '10.0.0.1')]);
  assert.equal(d.empty, false);
  assert.deepEqual(d.describe(), ['element "192.0.2.7" added to set inet t blk', 'element "10.0.0.1" deleted from set inet t blk']);
  d.note(blk, 'del', [k('c0000207', '192.0.2.7')]); // the hand-added element deleted again
  d.note(blk, 'add', [k('0a000001', '10.0.0.1')]); // the declared one put back by hand
  assert.equal(d.empty, true);
  assert.deepEqual(d.describe(), []);
});

test('the description is capped and says how many more', () => {
  const d = new ElementDrift();
  d.note(blk, 'add', Array.from({ length: 30 }, (_, i) => k(String(i), `10.0.0.${i}`)));
  const lines = d.describe(5);
  assert.equal(lines.length, 5);
  assert.equal(lines[4], '(26 more element changes)');
});

test('the heal batch deletes what was added and puts back what was deleted, in its declared form', () => {
  const d = new ElementDrift();
  d.note(blk, 'add', [k('c0000207', '192.0.2.7')]);
  d.note(blk, 'del', [k('0a000001', '10.0.0.1'), k('0a000002', '10.0.0.2')]);
  const declared = ['10.0.0.9', { elem: { val: '10.0.0.1', timeout: 3600, comment: 'kept' } }, '10.0.0.2'];
  const shape = { fields: ['ipv4_addr' as const], interval: false };
  const batch = elementHealBatch(d.entries(), (s) => findDeclared(shape, declared, s.removed));
  assert.deepEqual(batch, {
    nftables: [
      { delete: { element: { family: 'inet', table: 't', name: 'blk', elem: ['192.0.2.7'] } } },
      { add: { element: { family: 'inet', table: 't', name: 'blk', elem: [{ elem: { val: '10.0.0.1', timeout: 3600, comment: 'kept' } }, '10.0.0.2'] } } },
    ],
  });
  assert.deepEqual(elementHealBatch([], () => new Map()), { nftables: [] });
});

test('take hands the drift over and starts empty: changes noted afterwards stay apart from what was taken', () => {
  const d = new ElementDrift();
  d.note(blk, 'del', [k('0a000001', '10.0.0.1')]);
  const taken = d.take();
  assert.equal(d.empty, true);
  d.note(blk, 'add', [k('c0000207', '192.0.2.7')]); // a hand change while the taken drift is undone
  assert.deepEqual([...taken[0]!.removed.keys()], ['0a000001']);
  assert.equal(taken[0]!.added.size, 0, 'the later change did not leak into what was taken');
  assert.deepEqual(d.describe(), ['element "192.0.2.7" added to set inet t blk']);
});
