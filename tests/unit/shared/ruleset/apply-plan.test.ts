import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildApplyTransaction, tablesToCreate } from '../../../../shared/ruleset/apply-plan.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';

type Cmd = Record<string, Record<string, Record<string, unknown>>>;
const vmap = parseRuleset(readFileSync('tests/fixtures/vmap-listed.json'));

/** `verb kind name` of each command, for order assertions. */
function steps(cmds: Record<string, unknown>[]): string[] {
  return (cmds as Cmd[]).map((c) => {
    const verb = Object.keys(c)[0]!;
    const kind = Object.keys(c[verb]!)[0]!;
    const body = c[verb]![kind]!;
    return `${verb} ${kind} ${String(body.name ?? body.chain)}`;
  });
}

const T2 = [{ family: 'inet' as const, name: 't2' }];

test('resets each declared table it owns, then adds tables, chains, objects, sets, rules', () => {
  const s = steps(buildApplyTransaction(vmap, T2).nftables);
  assert.deepEqual(s.slice(0, 3), ['add table t2', 'delete table t2', 'add table t2']);
  const first = (p: string): number => s.findIndex((x) => x.startsWith(p));
  const last = (p: string): number => s.length - 1 - [...s].reverse().findIndex((x) => x.startsWith(p));
  assert.ok(last('add chain') < first('add counter'), 'chains before named objects');
  assert.ok(last('add quota') < first('add set'), 'named objects before sets');
  assert.ok(last('add chain') < first('add map'), 'a verdict map comes after the chains it jumps to');
  assert.ok(last('add map') < first('add rule'), 'rules last');
  assert.deepEqual(s.filter((x) => x.startsWith('add rule')), ['add rule c1', 'add rule c2', 'add rule input', 'add rule input', 'add rule input']);
});

test('strips handles and metainfo, keeps elements inline, deletes with family and name only', () => {
  const tx = buildApplyTransaction(vmap, T2);
  const text = JSON.stringify(tx);
  assert.doesNotMatch(text, /"handle"/);
  assert.doesNotMatch(text, /metainfo/);
  assert.doesNotMatch(text, /"element"/);
  const del = (tx.nftables as Cmd[]).find((c) => 'delete' in c)!;
  assert.deepEqual(del, { delete: { table: { family: 'inet', name: 't2' } } });
  const vm = (tx.nftables as Cmd[]).find((c) => c.add?.map?.name === 'vm')!;
  assert.deepEqual(vm.add!.map!.elem, [[{ prefix: { addr: '10.1.0.0', len: 16 } }, { jump: { target: 'c1' } }], ['*', { goto: { target: 'c2' } }]]);
  assert.ok(JSON.stringify(vmap).includes('"handle"'), 'the input ruleset is not modified');
});

test('element items are merged into their set', () => {
  const r = parseRuleset(JSON.stringify({ nftables: [
    { table: { family: 'ip', name: 'b' } },
    { element: { family: 'ip', table: 'b', name: 's', elem: ['10.0.0.2'] } },
    { set: { family: 'ip', table: 'b', name: 's', type: 'ipv4_addr', elem: ['10.0.0.1'] } },
  ] }));
  const cmds = buildApplyTransaction(r, []).nftables as Cmd[];
  assert.deepEqual(steps(cmds), ['create table b', 'add table b', 'add set s']);
  assert.deepEqual(cmds[2]!.add!.set!.elem, ['10.0.0.1', '10.0.0.2']);
});

test('previously managed tables are deleted when no longer declared, once each', () => {
  const cases: [string, { family: 'ip' | 'inet'; name: string }[], string[]][] = [
    ['none', [], ['create table t2']],
    ['same table', [{ family: 'inet', name: 't2' }], ['add table t2', 'delete table t2']],
    ['dropped table', [{ family: 'ip', name: 'old' }, { family: 'ip', name: 'old' }], ['create table t2', 'add table old', 'delete table old']],
  ];
  for (const [name, prev, expected] of cases) {
    const s = steps(buildApplyTransaction(vmap, prev).nftables);
    assert.deepEqual(s.slice(0, expected.length), expected, name);
    assert.equal(s[expected.length], 'add table t2', name);
  }
  const empty = parseRuleset('{"nftables":[]}');
  assert.deepEqual(steps(buildApplyTransaction(empty, [{ family: 'ip', name: 'old' }]).nftables), ['add table old', 'delete table old']);
});

test('a table the agent does not own is created, never reset: the batch fails if it exists, and no other table is named', () => {
  const r = parseRuleset(JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'f2b-table' } }, { table: { family: 'ip', name: 'mine' } }] }));
  const s = steps(buildApplyTransaction(r, [{ family: 'ip', name: 'mine' }, { family: 'ip', name: 'gone' }]).nftables);
  assert.deepEqual(s, ['create table f2b-table', 'add table mine', 'delete table mine', 'add table gone', 'delete table gone', 'add table f2b-table', 'add table mine']);
  assert.deepEqual(tablesToCreate([{ family: 'inet', name: 'f2b-table' }, { family: 'ip', name: 'mine' }], [{ family: 'ip', name: 'mine' }]), [{ family: 'inet', name: 'f2b-table' }]);
});

test('a 10,000-rule transaction has one command per item (its build time is a row of npm run bench: bench/apply-plan.ts)', () => {
  const items: unknown[] = [{ table: { family: 'inet', name: 'big' } }, { chain: { family: 'inet', table: 'big', name: 'c' } }];
  for (let i = 0; i < 10_000; i++) {
    items.push({ rule: { family: 'inet', table: 'big', chain: 'c', handle: i + 2, expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 1000 + i } }, { accept: null }] } });
  }
  const r = parseRuleset(JSON.stringify({ nftables: items }));
  const tx = buildApplyTransaction(r, []);
  assert.equal(tx.nftables.length, 10_003);
});
