import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildApplyTransaction } from '../../../../shared/ruleset/apply-plan.js';
import type { Ruleset, TableRef } from '../../../../shared/ruleset/ruleset-types.js';
import { applyOrder, transactionOrigins } from '../../../../shared/nft/transaction-origins.js';

/** Items of every kind, out of load order on purpose (as `nft -j list ruleset` prints them). */
const RULESET = {
  nftables: [
    { metainfo: { json_schema_version: 1 } },
    { table: { family: 'inet', name: 'f' } },
    { rule: { family: 'inet', table: 'f', chain: 'in', expr: [{ accept: null }] } },
    { set: { family: 'inet', table: 'f', name: 's', type: 'ipv4_addr', elem: ['10.0.0.1'], handle: 4 } },
    { element: { family: 'inet', table: 'f', name: 's', elem: ['10.0.0.2'] } },
    { chain: { family: 'inet', table: 'f', name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    { counter: { family: 'inet', table: 'f', name: 'web' } },
    { table: { family: 'ip', name: 'nat' } },
    { map: { family: 'inet', table: 'f', name: 'm', type: 'inet_service', map: 'verdict', elem: [[22, { jump: { target: 'in' } }]] } },
    { chain: { family: 'ip', table: 'nat', name: 'post' } },
    { flowtable: { family: 'inet', table: 'f', name: 'ft', hook: 'ingress', prio: 0, dev: [] } },
    { rule: { family: 'ip', table: 'nat', chain: 'post', expr: [{ masquerade: null }] } },
    { rule: { family: 'inet', table: 'f', chain: 'in', expr: [{ drop: null }] } },
  ],
} as unknown as Ruleset;

describe('transactionOrigins', () => {
  for (const previous of [[], [{ family: 'ip', name: 'old' }, { family: 'inet', name: 'f' }]] as TableRef[][]) {
    test(`every command of buildApplyTransaction maps to the item it adds (${previous.length} previously managed)`, () => {
      const batch = buildApplyTransaction(RULESET, previous);
      const origins = transactionOrigins(RULESET, previous);
      assert.equal(origins.length, batch.nftables.length);
      // Two commands (add + delete) per owned table, one (create) per declared table not owned.
      const owned = new Set(previous.map((t) => `${t.family} ${t.name}`));
      const resets = [...new Set(['inet f', 'ip nat', ...owned])].reduce((n, k) => n + (owned.has(k) ? 2 : 1), 0);
      batch.nftables.forEach((cmd, i) => {
        const origin = origins[i];
        if (i < resets) {
          assert.equal(origin, undefined, `command ${i} resets a table`);
          return;
        }
        assert.notEqual(origin, undefined, `command ${i}`);
        const [kind, body] = Object.entries(cmd.add as Record<string, Record<string, unknown>>)[0]!;
        const item = RULESET.nftables[origin!] as Record<string, Record<string, unknown>>;
        assert.deepEqual(Object.keys(item), [kind], `command ${i} adds a ${kind}`);
        const { handle: _h, elem: _e, ...want } = item[kind]!;
        const { elem: _e2, ...got } = body;
        assert.deepEqual(got, want, `command ${i}`);
      });
    });
  }

  test('applyOrder: tables, chains, objects, sets, element items, flowtables, rules; file order within each', () => {
    assert.deepEqual(applyOrder(RULESET), [1, 7, 5, 9, 6, 3, 8, 4, 10, 2, 11, 12]);
    assert.deepEqual(applyOrder({ nftables: [] } as unknown as Ruleset), []);
  });
});
