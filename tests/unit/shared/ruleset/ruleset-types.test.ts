import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kind } from '@sinclair/typebox';
import { ChainObject, ITEM_SCHEMAS, RULESET_SCHEMA, Ruleset, TableObject } from '../../../../shared/ruleset/ruleset-types.js';
import { FAMILIES, ITEM_KINDS, NFT_NAME_PATTERN } from '../../../../shared/ruleset/ruleset-items.js';

test('the schemas are built from the lists of ruleset-items.ts: one per item kind, families and names as listed there', () => {
  assert.deepEqual(Object.keys(ITEM_SCHEMAS).sort(), [...ITEM_KINDS].sort());
  assert.deepEqual(TableObject.properties.family.enum, [...FAMILIES]);
  assert.equal(ChainObject.properties.name.pattern, NFT_NAME_PATTERN);
  assert.equal(TableObject.additionalProperties, false, 'core objects are closed (nft ignores unknown keys)');
});

test('RULESET_SCHEMA is the Ruleset schema with a title and an id, the one the build compiles', () => {
  assert.equal(Ruleset[Kind], 'Object');
  assert.equal(RULESET_SCHEMA.properties, Ruleset.properties);
  assert.equal(RULESET_SCHEMA.$id, 'https://nft-sync.invalid/schemas/ruleset.json');
  assert.match(RULESET_SCHEMA.title, /ruleset/);
});
