/** diffElements: set difference by canonical id, whatever the order, with duplicates counted once. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { diffElements, diffElementsByHint, elementId, signature } from '../../../../shared/ruleset/table-index.js';
import { signaturesOf } from '../../../../shared/ruleset/element-layout.js';

const sorted = (l: unknown[]): string[] => l.map(elementId).sort();

test('diffElements equals the set difference, for shifted, shuffled and duplicated lists', () => {
  const element = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.integer({ min: 0, max: 5 }), fc.constantFrom({ prefix: { addr: '198.18.0.0', len: 24 } }, { range: ['198.18.1.1', '198.18.1.9'] }));
  fc.assert(
    fc.property(fc.array(element, { maxLength: 12 }), fc.array(element, { maxLength: 12 }), (a, b) => {
      const ids = (l: unknown[]): Set<string> => new Set(l.map(elementId));
      const ia = ids(a);
      const ib = ids(b);
      const { added, deleted } = diffElements(a, b);
      assert.deepEqual(sorted(added), [...ib].filter((x) => !ia.has(x)).sort());
      assert.deepEqual(sorted(deleted), [...ia].filter((x) => !ib.has(x)).sort());
    }),
    { numRuns: 3000 },
  );
});

test('a duplicate in the old list is not taken for a deletion', () => {
  assert.deepEqual(diffElements(['x', 'x'], ['x']), { added: [], deleted: [] });
  assert.deepEqual(diffElements(['x'], ['x', 'x']), { added: [], deleted: [] });
});

test('object keys in any order are the same element', () => {
  assert.deepEqual(diffElements([{ prefix: { addr: '198.18.0.0', len: 24 } }], [{ prefix: { len: 24, addr: '198.18.0.0' } }]), { added: [], deleted: [] });
});

test('diffElementsByHint equals diffElements for any removals and insertions, duplicates and re-adds included', () => {
  const element = fc.oneof(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 3 }), fc.constantFrom({ elem: { val: 'a', timeout: 3 } }, { elem: { timeout: 3, val: 'a' } }));
  fc.assert(
    fc.property(fc.array(element, { maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 12 }), fc.array(fc.tuple(fc.nat(12), element), { maxLength: 5 }), (a, keep, put) => {
      const deleted = a.flatMap((_, k) => (keep[k] === false ? [k] : []));
      const b: unknown[] = a.filter((_, k) => keep[k] !== false);
      const tags = b.map(() => false);
      for (const [at, e] of put) {
        const p = Math.min(at, b.length);
        b.splice(p, 0, e);
        tags.splice(p, 0, true);
      }
      const added = tags.flatMap((t, j) => (t ? [j] : []));
      const want = diffElements(a, b);
      const got = diffElementsByHint(a, b, deleted, added);
      assert.deepEqual(sorted(got.added), sorted(want.added));
      assert.deepEqual(sorted(got.deleted), sorted(want.deleted));
    }),
    { numRuns: 3000 },
  );
});

test('diffElementsByHint with the list\'s signatures kept (element-layout.ts) gives what it gives without them', () => {
  const element = fc.constantFrom('198.18.0.1', '198.18.0.2', '198.18.1.1', 'a', 'bb', '198.18.0.10');
  fc.assert(
    fc.property(fc.array(element, { maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 12 }), fc.array(fc.tuple(fc.nat(12), element), { maxLength: 5 }), (a, keep, put) => {
      const deleted = a.flatMap((_, k) => (keep[k] === false ? [k] : []));
      const b: unknown[] = a.filter((_, k) => keep[k] !== false);
      const tags = b.map(() => false);
      for (const [at, e] of put) {
        const p = Math.min(at, b.length);
        b.splice(p, 0, e);
        tags.splice(p, 0, true);
      }
      const added = tags.flatMap((t, j) => (t ? [j] : []));
      const want = diffElementsByHint(a, b, deleted, added);
      const got = diffElementsByHint(a, b, deleted, added, signaturesOf(a));
      assert.deepEqual(sorted(got.added), sorted(want.added));
      assert.deepEqual(sorted(got.deleted), sorted(want.deleted));
    }),
    { numRuns: 2000 },
  );
});

test('signature: 1,000,000 addresses of one /8 spread over more than half of the 2^20 values (few pass the filter to the map lookup)', () => {
  const seen = new Uint8Array(1 << 20);
  let distinct = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const s = signature(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.ok(s >= 0 && s < 1 << 20);
    if (seen[s] === 0) distinct++;
    seen[s] = 1;
  }
  assert.ok(distinct > 500_000, `${distinct} distinct signatures`);
});
