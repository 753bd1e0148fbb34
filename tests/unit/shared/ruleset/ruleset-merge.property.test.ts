/** Properties of the three-way list merge (a chain's rules), over random edits of random chains. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { mergeElements, mergeLists } from '../../../../shared/ruleset/ruleset-merge.js';

/** A list of distinct rules, and an edit of it: some deleted, new ones inserted anywhere. */
const base = fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 12 }).map((xs) => xs.map((x) => `r${x}`));
function edit(list: string[], tag: string): fc.Arbitrary<string[]> {
  return fc.tuple(fc.array(fc.boolean(), { minLength: list.length, maxLength: list.length }), fc.array(fc.nat(list.length), { maxLength: 3 })).map(([keep, at]) => {
    const out = list.filter((_, i) => keep[i]);
    at.forEach((p, k) => out.splice(Math.min(p, out.length), 0, `${tag}${k}`));
    return out;
  });
}
const triple = base.chain((b) => fc.tuple(fc.constant(b), edit(b, 'o'), edit(b, 't')));

test('one side unchanged: the merge is the other side', () => {
  fc.assert(fc.property(triple, ([b, o, t]) => {
    assert.deepEqual(mergeLists(b, o, b), o);
    assert.deepEqual(mergeLists(b, b, t), t);
    assert.deepEqual(mergeLists(b, o, o), o);
  }));
});

test('symmetric: merging theirs into ours gives what merging ours into theirs gives', () => {
  fc.assert(fc.property(triple, ([b, o, t]) => {
    assert.deepEqual(mergeLists(b, o, t), mergeLists(b, t, o));
  }));
});

test('nothing lost: a merge keeps every rule either side added, in each side\'s order, and drops every rule either side deleted', () => {
  fc.assert(fc.property(triple, ([b, o, t]) => {
    const m = mergeLists(b, o, t);
    if (m === undefined) return;
    for (const x of [...o, ...t].filter((x) => !b.includes(x))) assert.ok(m.includes(x), `added ${x} kept`);
    for (const x of b.filter((x) => !o.includes(x) || !t.includes(x))) assert.ok(!m.includes(x), `deleted ${x} gone`);
    for (const side of [o, t]) {
      const order: string[] = m.filter((x) => side.includes(x));
      assert.deepEqual(order, side.filter((x) => m.includes(x)), 'each side\'s order kept');
    }
  }));
});

test('elements: what ours added is in, what ours removed is out, theirs otherwise', () => {
  const set = fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 10 }).map((xs) => xs.map(String));
  fc.assert(fc.property(set, set, set, (b, o, t) => {
    const m = new Set(mergeElements(b, o, t));
    for (const x of o) if (!b.includes(x)) assert.ok(m.has(x));
    for (const x of b) if (!o.includes(x)) assert.ok(!m.has(x));
    for (const x of t) if (!(b.includes(x) && !o.includes(x))) assert.ok(m.has(x), `theirs ${x} kept`);
    for (const x of m) assert.ok(t.includes(x) || (o.includes(x) && !b.includes(x)), `${x} comes from theirs or from ours' additions`);
  }));
});
