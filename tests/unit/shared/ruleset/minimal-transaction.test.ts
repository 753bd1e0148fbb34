/**
 * planMinimalTransaction, pure: what it sends for each kind of change, and where the cost model
 * sends it to the full replacement. (tests/integration/shared/ruleset/ checks with the real nft
 * that the result equals the full replacement's.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApplyTransaction } from '../../../../shared/ruleset/apply-plan.js';
import type { Ruleset, TableRef } from '../../../../shared/ruleset/ruleset-types.js';
import { planMinimalTransaction } from '../../../../shared/ruleset/minimal-transaction.js';
import { bigAddressList, bigSetRuleset } from '../../../helpers/big-set.js';

const OWNED: TableRef[] = [{ family: 'inet', name: 'bigset' }];

function withElements(base: Ruleset, elem: unknown[], flags?: string[]): Ruleset {
  return {
    nftables: base.nftables.map((item) => ('set' in item ? { set: { ...item.set, elem, ...(flags ? { flags } : {}) } } : item)),
  } as Ruleset;
}

const prefixes = (n: number, from = 0): unknown[] => Array.from({ length: n }, (_, i) => ({ prefix: { addr: `${10 + ((i + from) >> 16)}.${((i + from) >> 8) & 255}.${(i + from) & 255}.0`, len: 24 } }));
const commands = (p: { batch: { nftables: Record<string, unknown>[] } }): string[] => p.batch.nftables.map((c) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0] as object)[0]}`);

describe('planMinimalTransaction', () => {
  it('sends nothing when the revisions declare the same ruleset', () => {
    const r = bigSetRuleset(100, 1) as unknown as Ruleset;
    const plan = planMinimalTransaction(r, structuredClone(r), OWNED);
    assert.equal(plan.kind, 'delta');
    assert.deepEqual(plan.batch.nftables, []);
  });

  it('a 1,000-element change to a 1,000,000-element hash set is two element commands', () => {
    const addresses = bigAddressList(1_001_000, 7);
    const base = bigSetRuleset(1, 1) as unknown as Ruleset;
    const a = withElements(base, addresses.slice(0, 1_000_000));
    const b = withElements(base, addresses.slice(1000, 1_001_000));
    const plan = planMinimalTransaction(a, b, OWNED);
    assert.equal(plan.kind, 'delta', plan.reason);
    assert.deepEqual(commands(plan), ['delete element', 'add element']);
    assert.equal(plan.summary.elementsAdded, 1000);
    assert.equal(plan.summary.elementsDeleted, 1000);
    assert.ok(plan.estimate.delta * 100 < plan.estimate.full, JSON.stringify(plan.estimate));
  });

  it('a rule change flushes and re-adds that chain only; sets stay untouched', () => {
    const a = bigSetRuleset(1000, 3) as unknown as Ruleset;
    const b = structuredClone(a);
    const rule = b.nftables.find((i) => 'rule' in i) as { rule: { expr: unknown[] } };
    rule.rule.expr[1] = { accept: null };
    const plan = planMinimalTransaction(a, b, OWNED);
    assert.equal(plan.kind, 'delta');
    assert.deepEqual(commands(plan), ['flush chain', 'add rule']);
    assert.deepEqual(plan.summary.chainsChanged, ['inet bigset input']);
  });

  it('never deletes element by element from a single-field interval set: 1,000 of 20,000 prefixes changed is not a 20 s delta', () => {
    const base = bigSetRuleset(1, 1) as unknown as Ruleset;
    const a = withElements(base, prefixes(20_000), ['interval']);
    const b = withElements(base, prefixes(20_000, 1000), ['interval']);
    const plan = planMinimalTransaction(a, b, OWNED);
    assert.ok(!JSON.stringify(plan.batch).includes('{"delete":{"element"'), plan.reason);
    assert.ok(plan.estimate.delta >= plan.estimate.full || plan.summary.setsRefilled.length === 1, plan.reason);
  });

  it('adds to a small interval set in place when nothing is deleted and its table holds more', () => {
    const base = bigSetRuleset(1, 1) as unknown as Ruleset;
    const big = { set: { family: 'inet', table: 'bigset', name: 'big', type: 'ipv4_addr', elem: bigAddressList(10_000, 5) } };
    const a = { nftables: [...withElements(base, prefixes(50), ['interval']).nftables, big] } as Ruleset;
    const b = { nftables: [...withElements(base, prefixes(51), ['interval']).nftables, big] } as Ruleset;
    const plan = planMinimalTransaction(a, b, OWNED);
    assert.equal(plan.kind, 'delta', plan.reason);
    assert.deepEqual(commands(plan), ['add element']);
  });

  it('a 100,000-prefix interval set with deletions goes to the full replacement', () => {
    const base = bigSetRuleset(1, 1) as unknown as Ruleset;
    const a = withElements(base, prefixes(100_000), ['interval']);
    const b = withElements(base, prefixes(100_000, 1000), ['interval']);
    const plan = planMinimalTransaction(a, b, OWNED);
    assert.equal(plan.kind, 'full', plan.reason);
    assert.deepEqual(plan.batch, buildApplyTransaction(b, OWNED));
  });

  it('a changed set definition replaces its table', () => {
    const a = bigSetRuleset(10, 1) as unknown as Ruleset;
    const b = withElements(a, (a.nftables.find((i) => 'set' in i) as { set: { elem: unknown[] } }).set.elem, ['timeout']);
    const plan = planMinimalTransaction(a, b, OWNED);
    assert.equal(plan.kind, 'full');
    assert.match(plan.reason, /definition changed/);
  });

  it('leaves an unchanged table alone while another is replaced', () => {
    const a = bigSetRuleset(10, 1) as unknown as Ruleset;
    const other = { table: { family: 'ip', name: 'other' } };
    const chain = (policy: string): unknown => ({ chain: { family: 'ip', table: 'other', name: 'c', type: 'filter', hook: 'input', prio: 0, policy } });
    const from = { nftables: [...a.nftables, other, chain('accept')] } as Ruleset;
    const to = { nftables: [...a.nftables, other, chain('drop')] } as Ruleset;
    const owned = [...OWNED, { family: 'ip', name: 'other' } as TableRef];
    const plan = planMinimalTransaction(from, to, owned);
    assert.equal(plan.kind, 'delta', plan.reason);
    assert.deepEqual(plan.summary.tablesReplaced, ['ip other']);
    assert.ok(!JSON.stringify(plan.batch).includes('bigset'));
  });

  it('falls back to the full replacement when a table in force is not owned', () => {
    const a = bigSetRuleset(10, 1) as unknown as Ruleset;
    const plan = planMinimalTransaction(a, a, []);
    assert.equal(plan.kind, 'full');
    assert.match(plan.reason, /not owned/);
  });

  it('deletes a map element by its key and adds it back with its new data', () => {
    const map = (data: unknown): Ruleset => ({
      nftables: [
        { table: { family: 'inet', name: 'bigset' } },
        { map: { family: 'inet', table: 'bigset', name: 'm', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.1', data], ...bigAddressList(100, 9).map((k) => [k, { accept: null }])] } },
      ],
    }) as Ruleset;
    const plan = planMinimalTransaction(map({ accept: null }), map({ drop: null }), OWNED);
    assert.deepEqual(plan.batch.nftables, [
      { delete: { element: { family: 'inet', table: 'bigset', name: 'm', elem: ['198.18.0.1'] } } },
      { add: { element: { family: 'inet', table: 'bigset', name: 'm', elem: [['198.18.0.1', { drop: null }]] } } },
    ]);
  });
});
