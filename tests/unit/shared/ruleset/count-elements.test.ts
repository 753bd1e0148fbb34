import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countElements } from '../../../../shared/ruleset/count-elements.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

test('countElements adds the inline elements of every set and map, declared in a ruleset', () => {
  const ruleset = { nftables: [
    { metainfo: { json_schema_version: 1 } },
    { table: { family: 'inet', name: 't' } },
    { set: { family: 'inet', table: 't', name: 'a', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } },
    { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.3', { accept: null }]] } },
    { set: { family: 'inet', table: 't', name: 'empty', type: 'ipv4_addr' } },
  ] } as unknown as Ruleset;
  assert.equal(countElements(ruleset), 3);
  assert.equal(countElements({ nftables: [] } as unknown as Ruleset), 0);
});
