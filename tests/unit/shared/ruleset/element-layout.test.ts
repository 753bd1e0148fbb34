/** elementLayout: the element lines of bytes that are renderRuleset's text, and none for any other text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementLayout } from '../../../../shared/ruleset/element-layout.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

const r = {
  nftables: [
    { table: { family: 'inet', name: 't' } },
    { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } },
    { set: { family: 'inet', table: 't', name: 'e', type: 'ipv4_addr' } },
    { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.3', { accept: null }]] } },
    { element: { family: 'inet', table: 't', name: 's', elem: ['198.18.0.9'] } },
  ],
} as Ruleset;

test('each non-empty elem array: its item, first line and indentation; element k is on line first + k', () => {
  const bytes = Buffer.from(renderRuleset(r));
  const layout = elementLayout(bytes, r);
  assert.ok(layout);
  const lines = bytes.toString().split('\n');
  assert.equal(layout.lines, lines.length);
  assert.deepEqual(layout.lists.map((l) => l.item), [1, 3, undefined]);
  const [s, m] = layout.lists;
  assert.deepEqual([lines[s!.first], lines[s!.first + 1]], [`${s!.indent}"198.18.0.1",`, `${s!.indent}"198.18.0.2"`]);
  assert.equal(lines[m!.first], `${m!.indent}["198.18.0.3",{"accept":null}]`);
});

test('no layout for bytes that are not renderRuleset\'s text of the ruleset', () => {
  assert.equal(elementLayout(Buffer.from(JSON.stringify(r)), r), undefined);
  assert.equal(elementLayout(Buffer.from(JSON.stringify(r, null, 2)), r), undefined);
  assert.equal(elementLayout(Buffer.from(renderRuleset(r).replace('198.18.0.2', '198.18.0.4')), r), undefined);
});
