import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_DEFAULTS } from '../../../../agent/defaults.js';
import { declaredElements, setId, summariseRevision } from '../../../../agent/drift/revision-summary.js';

const set = (name: string, elem?: unknown[]) => ({ set: { family: 'inet', table: 't', name, type: 'ipv4_addr', ...(elem ? { elem } : {}) } });
const bytes = (items: unknown[]) => Buffer.from(JSON.stringify({ nftables: [{ table: { family: 'inet', name: 't' } }, ...items] }));

test('summariseRevision counts set elements, keeps each set by id, and is big above bigRulesetElements', () => {
  const small = summariseRevision('b1', bytes([set('a', ['192.0.2.1', '192.0.2.2']), set('empty')]));
  assert.equal(small.elements, 2);
  assert.equal(small.big, false);
  assert.deepEqual([...small.sets.keys()], ['inet t a', 'inet t empty']);
  const n = AGENT_DEFAULTS.drift.bigRulesetElements;
  const elems = Array.from({ length: n + 1 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  assert.equal(summariseRevision('b2', bytes([set('big', elems.slice(0, n))])).big, false, 'exactly the threshold is small');
  assert.equal(summariseRevision('b3', bytes([set('big', elems)])).big, true);
});

test('declaredElements gives one set\'s elements, [] for a set without any or an unknown set', () => {
  const b = bytes([set('a', ['192.0.2.1']), set('none')]);
  assert.deepEqual(declaredElements(b, { family: 'inet', table: 't', name: 'a' }), ['192.0.2.1']);
  assert.deepEqual(declaredElements(b, { family: 'inet', table: 't', name: 'none' }), []);
  assert.deepEqual(declaredElements(b, { family: 'ip', table: 't', name: 'a' }), []);
  assert.equal(setId({ family: 'inet', table: 't', name: 'a' }), 'inet t a');
});
