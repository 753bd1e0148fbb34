import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffRulesets, isEmptyDiff, type RulesetDiff } from '../../../../shared/ruleset/ruleset-diff.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-schema.js';

const T = { family: 'inet', table: 't' };
const base = (): Ruleset =>
  ({
    nftables: [
      { table: { family: 'inet', name: 't' } },
      { chain: { ...T, name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
      { set: { ...T, name: 'blk', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } },
      { counter: { ...T, name: 'c1' } },
      { rule: { ...T, chain: 'input', expr: [{ accept: null }] } },
      { rule: { ...T, chain: 'input', expr: [{ drop: null }] } },
    ],
  }) as unknown as Ruleset;

type Items = Array<Record<string, Record<string, unknown>>>;
const edit = (f: (items: Items) => void): Ruleset => {
  const r = structuredClone(base()) as unknown as { nftables: Items };
  f(r.nftables);
  return r as unknown as Ruleset;
};
const find = (items: Items, kind: string, name: string) => items.find((i) => i[kind]?.name === name)![kind]!;

const cases: Array<[string, Ruleset, (d: RulesetDiff) => void]> = [
  ['table added', edit((i) => i.push({ table: { family: 'ip', name: 'x' } })), (d) => assert.deepEqual(d.tables.added, ['ip x'])],
  ['table removed (with everything in it)', { nftables: [] } as unknown as Ruleset, (d) => {
    assert.deepEqual(d.tables.removed, ['inet t']);
    assert.deepEqual(d.chains.removed, ['inet t input']);
    assert.deepEqual(d.sets.removed, ['inet t blk']);
    assert.equal(d.rules.removed.length, 2);
    assert.equal(d.elements.removed.length, 2);
  }],
  ['table changed (flags)', edit((i) => (find(i, 'table', 't').flags = ['owner'])), (d) => assert.equal(d.tables.changed[0]!.id, 'inet t')],
  ['chain added', edit((i) => i.push({ chain: { ...T, name: 'fwd' } })), (d) => assert.deepEqual(d.chains.added, ['inet t fwd'])],
  ['chain removed', edit((i) => i.splice(i.findIndex((x) => x.chain), 1)), (d) => assert.deepEqual(d.chains.removed, ['inet t input'])],
  ['chain changed (policy)', edit((i) => (find(i, 'chain', 'input').policy = 'accept')), (d) => {
    assert.equal(d.chains.changed.length, 1);
    assert.equal(d.chains.changed[0]!.id, 'inet t input');
    assert.equal(d.chains.changed[0]!.from.policy, 'drop');
    assert.equal(d.chains.changed[0]!.to.policy, 'accept');
  }],
  ['set added', edit((i) => i.push({ set: { ...T, name: 's2', type: 'ipv4_addr' } })), (d) => assert.deepEqual(d.sets.added, ['inet t s2'])],
  ['map added', edit((i) => i.push({ map: { ...T, name: 'm', type: 'ipv4_addr', map: 'verdict' } })), (d) => assert.deepEqual(d.sets.added, ['inet t m'])],
  ['set removed', edit((i) => i.splice(i.findIndex((x) => x.set), 1)), (d) => {
    assert.deepEqual(d.sets.removed, ['inet t blk']);
    assert.equal(d.elements.removed.length, 2);
  }],
  ['set changed (timeout)', edit((i) => (find(i, 'set', 'blk').timeout = 60)), (d) => assert.equal(d.sets.changed[0]!.id, 'inet t blk')],
  ['named object changed', edit((i) => (find(i, 'counter', 'c1').comment = 'x')), (d) => assert.equal(d.objects.changed[0]!.id, 'counter inet t c1')],
  ['rule added', edit((i) => i.push({ rule: { ...T, chain: 'input', expr: [{ reject: null }] } })), (d) => {
    assert.deepEqual(d.rules.added, [{ chain: 'inet t input', rule: { expr: [{ reject: null }] } }]);
    assert.equal(d.rules.removed.length, 0);
  }],
  ['rule removed', edit((i) => i.pop()), (d) => assert.deepEqual(d.rules.removed, [{ chain: 'inet t input', rule: { expr: [{ drop: null }] } }])],
  ['rule changed = one removed, one added', edit((i) => ((i[5]!.rule!.expr as unknown[])[0] = { reject: null })), (d) => {
    assert.equal(d.rules.removed.length, 1);
    assert.equal(d.rules.added.length, 1);
  }],
  ['rules reordered', edit((i) => i.push(i.splice(4, 1)[0]!)), (d) => {
    assert.deepEqual(d.rules.reordered, ['inet t input']);
    assert.equal(d.rules.added.length + d.rules.removed.length, 0);
  }],
  ['element added', edit((i) => (find(i, 'set', 'blk').elem as unknown[]).push('198.18.0.3')), (d) =>
    assert.deepEqual(d.elements.added, [{ set: 'inet t blk', element: '198.18.0.3' }])],
  ['element removed', edit((i) => (find(i, 'set', 'blk').elem as unknown[]).shift()), (d) =>
    assert.deepEqual(d.elements.removed, [{ set: 'inet t blk', element: '198.18.0.1' }])],
  ['element added by an element item', edit((i) => i.push({ element: { ...T, name: 'blk', elem: ['198.18.0.9'] } })), (d) =>
    assert.deepEqual(d.elements.added, [{ set: 'inet t blk', element: '198.18.0.9' }])],
];

for (const [name, after, check] of cases) {
  test(`diffRulesets: ${name}`, () => {
    const d = diffRulesets(base(), after);
    assert.equal(isEmptyDiff(d), false);
    check(d);
  });
}

test('diffRulesets: handles, item order and element order are not changes', () => {
  const after = edit((i) => {
    i.push(i.shift()!); // the table last
    (find(i, 'set', 'blk').elem as unknown[]).reverse();
    find(i, 'chain', 'input').handle = 7;
  });
  assert.equal(isEmptyDiff(diffRulesets(base(), after)), true);
});
