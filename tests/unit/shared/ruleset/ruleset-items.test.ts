import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RulesetItem } from '../../../../shared/ruleset/ruleset-types.js';
import { itemBody, itemKind, tableLabel } from '../../../../shared/ruleset/ruleset-items.js';

test('itemKind and itemBody read an item\'s one key and its object; tableLabel names a table', () => {
  const item = { chain: { family: 'inet', table: 't', name: 'c' } } as RulesetItem;
  assert.equal(itemKind(item), 'chain');
  assert.deepEqual(itemBody(item), { family: 'inet', table: 't', name: 'c' });
  assert.equal(itemKind({ table: { family: 'ip', name: 'x' } } as RulesetItem), 'table');
  assert.equal(tableLabel({ family: 'inet', name: 'nft_sync' }), 'inet nft_sync');
});
