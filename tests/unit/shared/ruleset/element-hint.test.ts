/**
 * elementHint: the element edits a delta's line edits prove, and no hint for edits that do not
 * keep the bytes renderRuleset's text (and a pad of spaces after it) or that leave the element
 * lines and the pad; over padded revisions, the hint the same change gives unpadded (the property
 * tests are in minimal-transaction.hint.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementHint, elementListChanges, patchedRuleset } from '../../../../shared/ruleset/element-hint.js';
import { elementLayout, type ElementLayout } from '../../../../shared/ruleset/element-layout.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { encodeRulesetDelta, rebuildFromRulesetDelta, type LineEdit } from '../../../../shared/wire/ruleset-delta.js';
import { serverPad } from '../../../helpers/padded-text.js';

const rs = (elem: string[], policy = 'accept'): Ruleset =>
  ({
    nftables: [
      { table: { family: 'inet', name: 't' } },
      { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', elem } },
      { chain: { family: 'inet', table: 't', name: 'c', type: 'filter', hook: 'input', prio: 0, policy } },
    ],
  }) as Ruleset;
const FROM = rs(['198.18.0.1', '198.18.0.2', '198.18.0.3']);
const layout = elementLayout(Buffer.from(renderRuleset(FROM)), FROM)!;
const first = layout.lists[0]!.first;
const ind = layout.lists[0]!.indent;

test('a changed element in the middle: its index in each list, and the layout of the new bytes', () => {
  const to = rs(['198.18.0.1', '198.18.0.9', '198.18.0.3']);
  const h = elementHint(layout, FROM, to, [{ line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [`${ind}"198.18.0.9",`] }]);
  assert.ok(h);
  assert.deepEqual([...h.hint.sets].map(([k, e]) => [k, e.deleted, e.added]), [[1, [1], [1]]]);
  assert.deepEqual(h.hint.sets.get(1)?.signatures, layout.lists[0]!.signatures, 'the signatures of the list in force go with the hint');
  assert.deepEqual(h.layout, elementLayout(Buffer.from(renderRuleset(to)), to));
});

test('elements appended after the last one: the last line is rewritten with its comma', () => {
  const to = rs(['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4']);
  const h = elementHint(layout, FROM, to, [{ line: first + 2, deleted: [`${ind}"198.18.0.3"`], inserted: [`${ind}"198.18.0.3",`, `${ind}"198.18.0.4"`] }]);
  assert.deepEqual(h && [...h.hint.sets].map(([k, e]) => [k, e.deleted, e.added]), [[1, [2], [2, 3]]]);
  assert.deepEqual(h?.layout, elementLayout(Buffer.from(renderRuleset(to)), to), 'signatures carried over');
});

test('no hint when the edits do not prove the change', () => {
  const to = rs(['198.18.0.1', '198.18.0.9', '198.18.0.3']);
  const cases: Array<[string, Ruleset, LineEdit[]]> = [
    ['an edit outside the element lines', rs(['198.18.0.1', '198.18.0.2', '198.18.0.3'], 'drop'), [{ line: first + 10, deleted: ['      "policy": "accept"'], inserted: ['      "policy": "drop"'] }]],
    ['other indentation', to, [{ line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [` ${ind}"198.18.0.9",`] }]],
    ['JSON not written as renderRuleset writes it', to, [{ line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [`${ind}"198.18.0.9" ,`] }]],
    ['a missing comma', to, [{ line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [`${ind}"198.18.0.9"`] }]],
    ['a removed line that is not the element there', to, [{ line: first + 1, deleted: [`${ind}"198.18.0.7",`], inserted: [`${ind}"198.18.0.9",`] }]],
    ['an inserted line that is not the new ruleset\'s element there', rs(['198.18.0.1', '198.18.0.8', '198.18.0.3']), [{ line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [`${ind}"198.18.0.9",`] }]],
    ['an insertion after the last element, which keeps no comma', rs(['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4']), [{ line: first + 3, deleted: [], inserted: [`${ind}"198.18.0.4"`] }]],
    ['every element removed (written `[]`)', rs([]), [{ line: first, deleted: [`${ind}"198.18.0.1",`, `${ind}"198.18.0.2",`, `${ind}"198.18.0.3"`], inserted: [] }]],
    ['two values on one line', rs(['198.18.0.1', '198.18.0.8', '198.18.0.9', '198.18.0.3']), [{ line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [`${ind}"198.18.0.8", "198.18.0.9",`] }]],
    ['edits out of order', to, [{ line: first + 2, deleted: [], inserted: [`${ind}"198.18.0.5",`] }, { line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [] }]],
  ];
  for (const [why, target, edits] of cases) assert.equal(elementHint(layout, FROM, target, edits), undefined, why);
});

// Padded texts (shared/ruleset/pad-lines.ts): renderRuleset's text, then lines of spaces the
// server adds to keep consecutive revisions at one size. The delta edits the pad as well as the
// element lines; the hint must be the one the same change gives without the pad.

const addrs = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `198.18.${(from + i) >> 8}.${(from + i) & 255}`);
const E = addrs(0, 300);
const text = (elem: string[]): string => renderRuleset(rs(elem));

/** The line edits of the delta from `a` to `b`, as an agent rebuilds them. */
function editsOf(a: Buffer, b: Buffer): LineEdit[] {
  const delta = encodeRulesetDelta(a, b);
  assert.ok(delta, 'a delta');
  const rebuilt = rebuildFromRulesetDelta(a, delta, 1 << 24);
  assert.ok(rebuilt.bytes.equals(b) && rebuilt.edits);
  return rebuilt.edits;
}

/**
 * The hint from `x` padded with `padA` bytes to `y` padded with `padB`, from `layout` (default:
 * the padded base's, found afresh), checked against the same change unpadded: the same element
 * edits, the same element lines and pad start in the new layout, which is the new bytes' own;
 * patchedRuleset and elementListChanges agree too. Returns the hint's new layout and the edits.
 */
function samePaddedHint(x: string[], y: string[], padA: number, padB: number, layout?: ElementLayout): { next: ElementLayout; edits: LineEdit[]; base: ElementLayout } {
  const [from, to] = [rs(x), rs(y)];
  const plainA = Buffer.from(text(x));
  const plainEdits = editsOf(plainA, Buffer.from(text(y)));
  const plainLayout = elementLayout(plainA, from)!;
  const plain = elementHint(plainLayout, from, to, plainEdits);
  assert.ok(plain, 'the unpadded change is hinted');
  const a = Buffer.from(text(x) + serverPad(padA));
  const b = Buffer.from(text(y) + serverPad(padB));
  const base = layout ?? elementLayout(a, from);
  assert.ok(base, 'the padded base has a layout');
  const edits = editsOf(a, b);
  const padded = elementHint(base, from, to, edits);
  assert.ok(padded, 'the padded change is hinted');
  assert.deepEqual(padded.hint.sets, plain.hint.sets, 'the same element edits as without the pad');
  assert.deepEqual(padded.layout.lists, plain.layout.lists);
  assert.equal(padded.layout.padFrom, plain.layout.padFrom);
  assert.deepEqual(padded.layout, elementLayout(b, to), 'the layout carried is the new bytes\' own');
  assert.deepEqual(patchedRuleset(base, from, edits), to);
  assert.deepEqual(elementListChanges(base, from, edits), elementListChanges(plainLayout, from, plainEdits));
  return { next: padded.layout, edits, base };
}

/** Whether some edit lies in the pad (from its first line on). */
const editsPad = (edits: LineEdit[], layout: ElementLayout): boolean => edits.some((e) => e.line >= layout.padFrom);

test('a padded revision whose pad shrinks by whole lines and a changed first line, elements added: the hint without the pad', () => {
  const y = [...E.slice(0, 100), ...addrs(1000, 80), ...E.slice(100)];
  const { next, edits, base } = samePaddedHint(E, y, 4000, 4000 + text(E).length - text(y).length);
  assert.ok(next.pad.length < base.pad.length && next.pad.length > 0, 'whole lines gone');
  assert.notEqual(next.pad[0], base.pad[0], 'its first line changed');
  assert.ok(editsPad(edits, base));
});

test('a padded revision whose pad grows, elements deleted: the hint without the pad', () => {
  const y = E.filter((_, i) => i % 7 !== 3);
  const { next, edits, base } = samePaddedHint(E, y, 1500, 1500 + text(E).length - text(y).length);
  assert.ok(next.pad.length > base.pad.length);
  assert.ok(editsPad(edits, base));
});

test('a pad that disappears (its first line empty or not) and one that appears, with elements changed: the hint without the pad', () => {
  const y = [...E.slice(0, 50), ...addrs(2000, 5), ...E.slice(60)];
  for (const padA of [1025, 1, 2049, 3000]) {
    const { next, edits, base } = samePaddedHint(E, y, padA, 0);
    assert.deepEqual(next.pad, new Uint32Array(0), `${padA} → 0`);
    assert.ok(editsPad(edits, base), `${padA} → 0`);
  }
  for (const padB of [1, 1025, 2500]) {
    const { next, edits, base } = samePaddedHint(E, y, 0, padB);
    assert.equal(next.pad.length, (padB % 1024 ? 1 : 0) + Math.floor(padB / 1024), `0 → ${padB}`);
    assert.ok(editsPad(edits, base), `0 → ${padB}`);
  }
});

test('a chain of three padded revisions at one size: the layout carried from each hint to the next delta is the bytes\' own', () => {
  const SIZE = text(E).length + 3000;
  const r2 = [...E.slice(0, 10), ...addrs(4000, 40), ...E.slice(10, 200), ...E.slice(230)];
  const r3 = [...r2.slice(0, 150).filter((_, i) => i % 5 !== 0), ...addrs(5000, 3), ...r2.slice(150)];
  const r4 = [...addrs(6000, 100), ...r3.slice(0, 20), ...r3.slice(21)];
  const pad = (elem: string[]): number => SIZE - text(elem).length;
  let layout = elementLayout(Buffer.from(text(E) + serverPad(pad(E))), rs(E))!;
  let prev = E;
  for (const next of [r2, r3, r4]) {
    const step = samePaddedHint(prev, next, pad(prev), pad(next), layout);
    assert.ok(editsPad(step.edits, layout));
    layout = step.next;
    prev = next;
  }
  assert.deepEqual(layout, elementLayout(Buffer.from(text(r4) + serverPad(pad(r4))), rs(r4)));
});

test('edits of the pad alone, and at its boundary: spaces accepted, anything else refused', () => {
  const a = Buffer.from(renderRuleset(FROM) + serverPad(2049)); // pad lines: 0, 1023, 1023
  const base = elementLayout(a, FROM)!;
  const p = base.padFrom;
  const F = ' '.repeat(1023);
  const elemEdit: LineEdit = { line: first + 1, deleted: [`${ind}"198.18.0.2",`], inserted: [`${ind}"198.18.0.9",`] };
  const to = rs(['198.18.0.1', '198.18.0.9', '198.18.0.3']);
  const plain = elementHint(layout, FROM, to, [elemEdit])!;
  const accepted: Array<[string, LineEdit[], number[]]> = [
    ['pad lines inserted right after the text\'s last line', [elemEdit, { line: p, deleted: [], inserted: ['   ', ''] }], [3, 0, 0, 1023, 1023]],
    ['the pad gone, its empty first line left last', [elemEdit, { line: p + 1, deleted: [F, F, ''], inserted: [] }], []],
    ['the pad replaced as one edit at the end', [elemEdit, { line: p, deleted: ['', F, F, ''], inserted: [' '.repeat(7), ''] }], [7]],
  ];
  for (const [why, edits, pad] of accepted) {
    const h = elementHint(base, FROM, to, edits);
    assert.ok(h, why);
    assert.deepEqual(h.hint.sets, plain.hint.sets, why);
    assert.deepEqual(h.layout.lists, plain.layout.lists, why);
    assert.deepEqual([...h.layout.pad], pad, why);
    assert.equal(h.layout.lines, h.layout.padFrom + pad.length + 1, why);
    assert.deepEqual(patchedRuleset(base, FROM, edits), to, why);
  }
  const pad = elementHint(base, FROM, FROM, [{ line: p + 1, deleted: [F], inserted: [] }]);
  assert.ok(pad, 'a pad-only change: a hint of no element change');
  assert.equal(pad.hint.sets.size, 0);
  const refused: Array<[string, LineEdit[]]> = [
    ['a non-space line inserted in the pad', [elemEdit, { line: p + 1, deleted: [], inserted: ['  x'] }]],
    ['a second JSON value after the text', [elemEdit, { line: p, deleted: [], inserted: ['{}'] }]],
    ['an edit reaching both the text and the pad', [elemEdit, { line: p - 1, deleted: ['}', ''], inserted: ['}', ' '] }]],
    ['the text\'s last line deleted', [elemEdit, { line: p - 1, deleted: ['}'], inserted: [] }]],
    ['the pad\'s lines replaced by a line of spaces without a newline', [elemEdit, { line: p, deleted: ['', F, F, ''], inserted: ['  '] }]],
    ['a removed pad line of another length than the layout says', [elemEdit, { line: p + 1, deleted: [' '.repeat(1000)], inserted: [] }]],
  ];
  for (const [why, edits] of refused) {
    assert.equal(elementHint(base, FROM, to, edits), undefined, why);
    assert.equal(patchedRuleset(base, FROM, edits), undefined, why);
    assert.equal(elementListChanges(base, FROM, edits), undefined, why);
  }
});
