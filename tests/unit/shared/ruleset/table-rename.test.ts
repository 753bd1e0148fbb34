import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renameTables, tableOfItem } from '../../../../shared/ruleset/table-rename.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

describe('renameTables', () => {
  test('renames the table of every item and leaves the original alone', () => {
    const r = {
      nftables: [
        { metainfo: { json_schema_version: 1 } },
        { table: { family: 'inet', name: 't' } },
        { chain: { family: 'inet', table: 't', name: 'c' } },
        { rule: { family: 'inet', table: 't', chain: 'c', expr: [{ jump: { target: 'c' } }] } },
      ],
    } as unknown as Ruleset;
    const copy = renameTables(r, (n) => `${n}_x`);
    assert.deepEqual(copy.nftables.map(tableOfItem), [undefined, 't_x', 't_x', 't_x']);
    assert.deepEqual(r.nftables.map(tableOfItem), [undefined, 't', 't', 't']);
    assert.deepEqual(renameTables(copy, (n) => n.replace(/_x$/, '')), r);
  });
});
