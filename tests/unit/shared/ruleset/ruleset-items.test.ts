import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RulesetItem } from '../../../../shared/ruleset/ruleset-types.js';
import { elementFields, itemBody, itemKind, tableLabel } from '../../../../shared/ruleset/ruleset-items.js';

test('itemKind and itemBody read an item\'s one key and its object; tableLabel names a table', () => {
  const item = { chain: { family: 'inet', table: 't', name: 'c' } } as RulesetItem;
  assert.equal(itemKind(item), 'chain');
  assert.deepEqual(itemBody(item), { family: 'inet', table: 't', name: 'c' });
  assert.equal(itemKind({ table: { family: 'ip', name: 'x' } } as RulesetItem), 'table');
  assert.equal(tableLabel({ family: 'inet', name: 'nft_sync' }), 'inet nft_sync');
});

test('elementFields: the fields of an {"elem": {...}} element, a map element\'s on its key; undefined for a bare value', () => {
  assert.deepEqual(elementFields({ elem: { val: '198.18.0.1', timeout: 60 } }), { val: '198.18.0.1', timeout: 60 });
  assert.deepEqual(elementFields([{ elem: { val: '198.18.0.1', expires: 5 } }, 7]), { val: '198.18.0.1', expires: 5 });
  for (const bare of ['198.18.0.1', { prefix: { addr: '198.18.0.0', len: 24 } }, ['198.18.0.1', 7], { elem: 'x' }, { elem: null }, null]) assert.equal(elementFields(bare), undefined, JSON.stringify(bare));
});
