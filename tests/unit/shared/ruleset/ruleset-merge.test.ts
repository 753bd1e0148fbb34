import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeElements, mergeLists, mergeRulesets } from '../../../../shared/ruleset/ruleset-merge.js';
import { diffNormalised, normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

const T = { family: 'inet', table: 't' } as const;
const rule = (chain: string, port: number) => ({ rule: { ...T, chain, expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port } }, { accept: null }] } });
function rs(opts: { input?: number[]; output?: number[]; elems?: string[]; policy?: string; extraChain?: boolean }): Ruleset {
  return {
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      { table: { family: 'inet', name: 't' } },
      { chain: { ...T, name: 'input', type: 'filter', hook: 'input', prio: 0, policy: (opts.policy ?? 'accept') as 'accept' } },
      { chain: { ...T, name: 'output', type: 'filter', hook: 'output', prio: 0, policy: 'accept' } },
      ...(opts.extraChain ? [{ chain: { ...T, name: 'extra' } }] : []),
      { set: { ...T, name: 'blk', type: 'ipv4_addr', ...(opts.elems?.length ? { elem: opts.elems } : {}) } },
      ...(opts.input ?? []).map((p) => rule('input', p)),
      ...(opts.output ?? []).map((p) => rule('output', p)),
    ] as Ruleset['nftables'],
  };
}
const equal = (a: Ruleset, b: Ruleset) => assert.deepEqual(diffNormalised(normaliseRuleset(a), normaliseRuleset(b)), []);

test('lists: changes at different places combine; the same place conflicts', () => {
  const base = ['a', 'b', 'c'];
  assert.deepEqual(mergeLists(base, ['a', 'b', 'c', 'x'], ['y', 'a', 'b', 'c']), ['y', 'a', 'b', 'c', 'x']);
  assert.deepEqual(mergeLists(base, ['a', 'c'], ['a', 'b', 'c', 'z']), ['a', 'c', 'z']);
  assert.deepEqual(mergeLists(base, ['a', 'X', 'c'], ['a', 'b', 'c', 'z']), ['a', 'X', 'c', 'z'], 'a replaced rule is one side\'s change');
  assert.equal(mergeLists(base, ['a', 'b', 'c', 'x'], ['a', 'b', 'c', 'y']), undefined, 'two appends at the end');
  assert.equal(mergeLists(base, ['a', 'c'], ['a', 'b', 'q', 'c']), undefined, 'insert next to a rule the other deleted');
  assert.deepEqual(mergeLists(base, ['a', 'b', 'c', 'x'], ['a', 'b', 'c', 'x']), ['a', 'b', 'c', 'x'], 'the same change on both sides');
  assert.deepEqual(mergeLists(base, base, ['c']), ['c']);
});

test('elements merge one by one', () => {
  assert.deepEqual(mergeElements(['1', '2'], ['1', '2', '3'], ['2', '4']), ['2', '3', '4']);
  assert.deepEqual(mergeElements(['1', '2'], ['2'], ['1', '2', '5']), ['2', '5']);
});

test('a rule added on one side and an element added on the other both survive', () => {
  const base = rs({ input: [22], elems: ['198.18.0.1'] });
  const ours = rs({ input: [22, 80], elems: ['198.18.0.1'] });
  const theirs = rs({ input: [22], elems: ['198.18.0.1', '198.18.0.2'] });
  const m = mergeRulesets(base, ours, theirs);
  assert.equal(m.kind, 'merged');
  if (m.kind === 'merged') equal(m.ruleset, rs({ input: [22, 80], elems: ['198.18.0.1', '198.18.0.2'] }));
});

test('rules in different chains, a chain added and a policy changed merge', () => {
  const base = rs({ input: [22] });
  const m = mergeRulesets(base, rs({ input: [22], output: [53], extraChain: true }), rs({ input: [22, 443], policy: 'drop' }));
  assert.equal(m.kind, 'merged');
  if (m.kind === 'merged') equal(m.ruleset, rs({ input: [22, 443], output: [53], extraChain: true, policy: 'drop' }));
});

test('the same object changed differently on both sides is a conflict naming it', () => {
  const base = rs({ input: [22] });
  const m = mergeRulesets(base, rs({ input: [22, 80] }), rs({ input: [22, 81] }));
  assert.deepEqual(m, { kind: 'conflict', conflicts: ['chain inet t input: rules changed on both sides at the same place'] });
  const p = mergeRulesets(base, rs({ input: [22], policy: 'drop' }), rs({ input: [22], policy: 'reject' }));
  assert.equal(p.kind, 'conflict');
  if (p.kind === 'conflict') assert.match(p.conflicts[0]!, /^chain inet t input: changed on both sides/);
});

test('a deleted object stays deleted when the other side left it alone', () => {
  const base = rs({ input: [22], extraChain: true });
  const m = mergeRulesets(base, rs({ input: [22] }), rs({ input: [22, 80], extraChain: true }));
  assert.equal(m.kind, 'merged');
  if (m.kind === 'merged') equal(m.ruleset, rs({ input: [22, 80] }));
});

test('security: a chain rewritten wholesale on a moved branch is a conflict naming its size, not a quadratic merge', () => {
  // 6,000 rules, half of them rewritten by the publisher while the branch appended one: the
  // rewritten span alone is 3,000 x 3,000 cells of an LCS table. Past LIST_MERGE_MAX_CELLS the
  // chain is a conflict (the publisher republishes onto the new tip) instead of a table that
  // grows with the square of the chain (16,000 rules took 7.6 s and 1.1 GB, 30,000 would not fit).
  const n = 6000;
  const ports = Array.from({ length: n }, (_, i) => i + 1);
  const base = rs({ input: ports });
  const ours = rs({ input: [...ports.slice(0, n / 2).map((p) => p + 20000), ...ports.slice(n / 2)] });
  const theirs = rs({ input: [...ports, 65000] });
  const merged = mergeRulesets(base, ours, theirs);
  assert.equal(merged.kind, 'conflict');
  assert.match(merged.kind === 'conflict' ? merged.conflicts.join('\n') : '', /chain inet t input: too many rules changed to merge/);
});

test('security: a long chain changed in one place on each side merges, the unchanged ends are not compared pairwise', () => {
  const n = 40000;
  const base = Array.from({ length: n }, (_, i) => `r${i}`);
  const ours = [...base.slice(0, 20000), 'mine', ...base.slice(20001)];
  const theirs = [...base, 'theirs'];
  assert.deepEqual(mergeLists(base, ours, theirs), [...ours, 'theirs']);
});
