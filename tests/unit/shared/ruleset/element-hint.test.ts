/**
 * elementHint: the element edits a delta's line edits prove, and no hint for edits that do not
 * keep the bytes renderRuleset's text or that leave the element lines (the property tests are in
 * minimal-transaction.hint.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementHint } from '../../../../shared/ruleset/element-hint.js';
import { elementLayout } from '../../../../shared/ruleset/element-layout.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import type { LineEdit } from '../../../../shared/wire/ruleset-delta.js';

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
